/**
 * @file mo/scan.h
 * Visible rows of a catalogued table, computed by scanning its objects: data objects minus
 * the rows deleted by tombstones, as of the live state or a given TS (create/delete TS of
 * the entries, commit-ts and abort columns of appendable objects). Drives `mosync checksum`
 * (row count + an order-independent fingerprint, equal on upstream and downstream replicas
 * whatever their object layout) and `mosync scan` (rows as CSV).
 */
#ifndef MO_SCAN_H
#define MO_SCAN_H

#include "mo/cat.h"
#include "mo/obj_vec.h"

typedef struct mo_scan_result {
    uint64_t rows;
    uint64_t sum; /* Σ XXH3-64(row) mod 2^64 */
    uint64_t xor_;
    uint64_t objects, tombstone_rows, deleted_rows;
} mo_scan_result;

/** One visible row: cols[i] is the vector of user column i, row index @p row in it. */
typedef int (*mo_scan_row_cb)(const mo_cat_table *t, const mo_obj_vec *cols, const bool *present,
                              uint32_t row, void *payload);

/**
 * Scans table @p t of the replica in @p dir (objects flat in @p dir). @p at NULL = the live
 * state. @p cb may be NULL (checksum only).
 */
int mo_scan_table(mo_scan_result *out, mo_cat *c, const char *dir, const mo_cat_table *t,
                  const mo_obj_ts *at, mo_scan_row_cb cb, void *payload, mo_err *err);

/** "rows=N fingerprint=<32 hex>" */
void mo_scan_format(char out[96], const mo_scan_result *r);

#endif

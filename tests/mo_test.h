/* Shared helpers for the CUnit runners: temp dirs, fixtures, deterministic randomness. */
#ifndef MO_TEST_H
#define MO_TEST_H

#include <CUnit/CUnit.h>
#include <stdint.h>

#include "mo/err.h"

/** Asserts an exact mo_code, printing the message on mismatch (libgit2 cl_git_fail_with). */
#define MO_ASSERT_RC(expect, expr)                                                                 \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (expect))                                                                       \
            mo_test_rc_report(__FILE__, __LINE__, #expr, expect, rc_);                             \
        CU_ASSERT_EQUAL_FATAL(rc_, (expect));                                                      \
    } while (0)
#define MO_ASSERT_OK(expr) MO_ASSERT_RC(MO_OK, expr)

void mo_test_rc_report(const char *file, int line, const char *expr, int expect, int got);
/** Error detail of the last failing call, used by MO_ASSERT_RC reports. */
extern mo_err mo_test_err;

/** A fresh empty directory under $MO_TMP (or /tmp); returns a static path. */
const char *mo_test_tmpdir(const char *tag);
/** Deterministic xorshift64* generator. */
uint64_t mo_test_rand(uint64_t *state);

#endif

/* Upstream generator (mo/gen.h). The row model: every row of a table has a key k, monotonic
 * per table (new inserts take new keys, so new PK ranges); its values are a pure function of
 * (table seed, column gid, k), so objects are (re)written from the model alone — merges and
 * copy ALTERs never read files — and the truth fingerprint is the XXH3-64 of exactly the value
 * bytes the scanner hashes (xfer_scan.c). Per live row the model keeps its place (object,
 * block, row) for tombstone rowids, and its commit TS (appendable rows may commit after their
 * object's step; aborted rows are never in the model). Within a step DDL runs first, then
 * deletes, merges, inserts and appends, so every row existing when a step starts is visible
 * at that step's TS. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mo/gen.h"
#include "mo/hash.h"
#include "mo/objfmt.h"
#include "mo/scan.h"
#include "mo/sys.h"

#define NAME_LEN 64
#define MAX_PK 4
#define MAX_TGT 8
#define VMAX 512
#define STEP_NS 1000000000ll
#define DEFAULT_BASE 1700000000000000000ll
#define STATE_VERSION 2u /* 2: hidden index tables */
#define TRUTH_VERSION 1u
#define FILE_HDR 24 /* magic 8 | u32 version | u32 0 | u64 payload length */

enum { K_DATA = 0, K_APPEND = 1, K_TOMB = 2 };

typedef struct gcol {
    char name[NAME_LEN];
    mo_obj_type type; /* stored type, from the parsed CREATE text */
    uint8_t dom;      /* value domain: the type the column was created with */
    int32_t dom_w, dom_s;
    uint32_t gid;
    int64_t born_k; /* rows with k < born_k hold NULL (ALTER ... ADD COLUMN) */
    uint8_t not_null;
    char dflt[48]; /* DEFAULT as written, "" = none */
} gcol;

typedef struct gidx {
    char name[NAME_LEN];
    uint32_t col;
    uint8_t invisible; /* ALTER INDEX ... INVISIBLE */
} gidx;

typedef struct grow {
    int64_t k;
    uint64_t h;
    int64_t cts; /* commit TS (physical); visible at TS >= cts */
    uint32_t obj;
    uint16_t blk;
    uint32_t row;
} grow;

typedef struct gobj {
    mo_obj_objectid id;
    uint8_t kind, live, level, ntgt;
    uint32_t tgt[MAX_TGT]; /* tombstones: data objects they point into */
    uint8_t stats[MO_OBJ_STATS_LEN];
    mo_digest128 digest;
    mo_obj_ts create_ts;
} gobj;

typedef struct gtab {
    uint64_t id, db_id;
    char db[NAME_LEN], name[NAME_LEN];
    uint64_t tseed;
    mo_obj_ts created_ts;
    uint32_t ncols, npk, nidx;
    gcol *cols;
    int32_t pk[MAX_PK];
    uint32_t radix[MAX_PK];
    gidx *idx;
    char comment[96];
    int64_t next_k;
    size_t nrows, caprows;
    grow *rows;
    size_t nobjs, capobjs;
    gobj *objs;
    mo_cat_table cat; /* derived: the parsed CREATE text */
    char *sql;        /* derived */
    /* a hidden index table (in gen.ixts, not gen.tabs): its parent's id and index name, and
     * the signature of the parent's visible rows it was last built from */
    uint64_t ix_parent, ix_sig;
    char ix_index[NAME_LEN];
    const struct gtab *ix_par; /* resolved at every step end */
    uint32_t ix_col;
} gtab;

typedef struct gdb {
    uint64_t id;
    char name[NAME_LEN];
    mo_obj_ts created_ts;
} gdb;

typedef struct gen {
    const char *dir;
    uint64_t rng;
    uint32_t step;
    int64_t last_ts;
    double ashare;
    uint32_t seq, gid_seq;
    uint32_t modify_seq; /* in-place MODIFYs so far: their kind goes round */
    char db0[NAME_LEN];
    size_t ndbs, ntabs, nixts;
    gdb *dbs;
    gtab **tabs;
    gtab **ixts; /* hidden index tables */
    mo_gen_truth truth;
    /* per run */
    bool realtime;
    mo_cat *cat;
    mo_cat_txn *txn;
    mo_obj_ts ts;
    mo_gen_report *rep;
    mo_err *err;
    mo_buf rb; /* row scratch */
} gen;

static const char *const op_names[MO_GEN_OP_COUNT] = {
    "insert",      "delete",        "merge",     "append",       "truncate",
    "add_column",  "drop_column",   "modify_type", "rename_table", "rename_column",
    "add_index",   "index_visibility", "drop_index",    "comment",   "modify_inplace", "create_table",
    "drop_table",  "create_db",     "drop_db"};

const char *mo_gen_op_name(int op)
{
    return op >= 0 && op < MO_GEN_OP_COUNT ? op_names[op] : NULL;
}

/* ---------------- randomness ---------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t rnd(gen *g)
{
    g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
    return mix64(g->rng);
}

static uint64_t rndn(gen *g, uint64_t n)
{
    return n ? rnd(g) % n : 0;
}

/* UUIDv7 from the seeded generator with the step TS as the clock (deterministic names). */
static void new_objid(gen *g, mo_obj_objectid *id)
{
    const uint64_t ms = (uint64_t)(g->ts.physical / 1000000);
    const uint64_t a = rnd(g), b = rnd(g);
    for (int i = 0; i < 6; i++)
        id->seg[i] = (uint8_t)(ms >> (40 - 8 * i));
    for (int i = 0; i < 5; i++) {
        id->seg[6 + i] = (uint8_t)(a >> (8 * i));
        id->seg[11 + i] = (uint8_t)(b >> (8 * i));
    }
    id->seg[6] = (uint8_t)(0x70 | (id->seg[6] & 0x0f));
    id->seg[8] = (uint8_t)(0x80 | (id->seg[8] & 0x3f));
    id->num = 0;
}

/* ---------------- values ---------------- */

static bool is_text(uint8_t oid)
{
    return oid == MO_T_CHAR || oid == MO_T_VARCHAR || oid == MO_T_TEXT || oid == MO_T_BLOB ||
           oid == MO_T_VARBINARY || oid == MO_T_BINARY;
}

static bool is_int(uint8_t oid)
{
    return (oid >= MO_T_INT8 && oid <= MO_T_INT64) || (oid >= MO_T_UINT8 && oid <= MO_T_UINT64);
}

static int pk_index(const gtab *t, uint32_t ci)
{
    for (uint32_t j = 0; j < t->npk; j++)
        if (t->pk[j] == (int32_t)ci)
            return (int)j;
    return -1;
}

/* PK part j of row k: a mixed-radix split of k, so tuple order == k order. */
static int64_t pk_part(const gtab *t, uint32_t j, int64_t k)
{
    for (uint32_t i = t->npk - 1; i > j; i--)
        k /= t->radix[i];
    return j > 0 ? k % t->radix[j] + 1 : k + 1;
}

static void put_le(uint8_t *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* Canonical value of user column ci for row k: an integer (*iv) or bytes; false = NULL. */
static bool col_canon(const gtab *t, uint32_t ci, int64_t k, int64_t *iv, uint8_t *b,
                      uint32_t *n, bool *bytes)
{
    const gcol *c = &t->cols[ci];
    *bytes = false;
    const int j = pk_index(t, ci);
    if (j >= 0) {
        *iv = pk_part(t, (uint32_t)j, k);
        if (is_text(c->dom)) {
            *n = (uint32_t)snprintf((char *)b, VMAX, "%016" PRId64, *iv);
            *bytes = true;
        }
        return true;
    }
    if (k < c->born_k)
        return false;
    uint64_t r = mix64(t->tseed ^ mix64(((uint64_t)c->gid << 40) ^ (uint64_t)k));
    if (!c->not_null && r % 23 == 0)
        return false;
    r = mix64(r);
    switch (c->dom) {
    case MO_T_BOOL:
        *iv = (int64_t)(r & 1);
        break;
    case MO_T_INT8: case MO_T_UINT8:
        *iv = (int64_t)(r % 100);
        break;
    case MO_T_INT16: case MO_T_UINT16:
        *iv = (int64_t)(r % 10000);
        break;
    case MO_T_INT32: case MO_T_UINT32:
        *iv = (int64_t)(r % 1000000);
        break;
    case MO_T_INT64: case MO_T_UINT64:
        *iv = (int64_t)(r % 1000000000000ull);
        break;
    case MO_T_FLOAT32: case MO_T_FLOAT64:
        *iv = (int64_t)(r % 10000000);
        break;
    case MO_T_DECIMAL64: case MO_T_DECIMAL128: {
        uint64_t lim = 1;
        for (int i = 0; i < c->dom_w && i < 18; i++)
            lim *= 10;
        *iv = (int64_t)(r % lim);
        if ((r >> 60) == 0)
            *iv = -*iv;
        break;
    }
    case MO_T_DATE:
        *iv = 730000 + (int64_t)(r % 7300);
        break;
    case MO_T_TIME: case MO_T_DATETIME: case MO_T_TIMESTAMP: {
        int64_t unit = 1;
        for (int i = c->dom_s; i < 6; i++)
            unit *= 10;
        int64_t v = c->dom == MO_T_TIME ? (int64_t)(r % 86400000000ull)
                                        : 63700000000000000ll + (int64_t)(r % 100000000000000ull);
        *iv = v / unit * unit;
        break;
    }
    case MO_T_UUID:
        put_le(b, r, 8);
        put_le(b + 8, mix64(r), 8);
        *n = 16;
        *bytes = true;
        break;
    default: { /* text */
        const uint32_t maxlen = c->dom_w > 0 ? (uint32_t)(c->dom_w < 80 ? c->dom_w : 80) : 120;
        *n = (uint32_t)(r % (maxlen + 1));
        uint64_t s = r;
        for (uint32_t i = 0; i < *n; i++) {
            if (i % 10 == 9)
                s = mix64(s);
            b[i] = (uint8_t)('a' + (s >> (6 * (i % 10))) % 26);
        }
        *bytes = true;
        break;
    }
    }
    return true;
}

/* Bytes of user column ci for row k as its vector stores them (slot or varlena payload). */
static bool col_value(const gtab *t, uint32_t ci, int64_t k, uint8_t *b, uint32_t *n)
{
    int64_t iv = 0;
    bool bytes;
    if (!col_canon(t, ci, k, &iv, b, n, &bytes))
        return false;
    const mo_obj_type *ty = &t->cols[ci].type;
    if (bytes && !is_text(ty->oid) && ty->oid != MO_T_UUID) {
        /* a text PK domain stored as another type cannot happen (PK types never change) */
        iv = 0;
    }
    if (bytes && (is_text(ty->oid) || ty->oid == MO_T_UUID))
        return true;
    const int size = mo_obj_type_size(ty->oid);
    memset(b, 0, 16);
    switch (ty->oid) {
    case MO_T_FLOAT32: {
        const float f = (float)((double)iv / 100.0);
        memcpy(b, &f, 4);
        break;
    }
    case MO_T_FLOAT64: {
        const double d = (double)iv / 100.0;
        memcpy(b, &d, 8);
        break;
    }
    case MO_T_DECIMAL128:
        put_le(b, (uint64_t)iv, 8);
        put_le(b + 8, iv < 0 ? ~0ull : 0, 8);
        break;
    default:
        if (is_text(ty->oid)) { /* an integer domain widened to text: its decimal text */
            *n = (uint32_t)snprintf((char *)b, VMAX, "%" PRId64, iv);
            return true;
        }
        put_le(b, (uint64_t)iv, size > 8 ? 8 : size);
    }
    *n = (uint32_t)size;
    return true;
}

/* types.Packer encodeInt/encodeUint (ccpr composite keys, pkg/container/types/tuple.go) */
static uint32_t tuple_int(uint8_t *b, int64_t v)
{
    static const uint64_t lim[9] = {0,          0xff,           0xffff,           0xffffff,
                                    0xffffffff, 0xffffffffffull, 0xffffffffffffull,
                                    0xffffffffffffffull, ~0ull};
    const uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-(v + 1)) + 1;
    if (u == 0) {
        b[0] = 0x14;
        return 1;
    }
    int n = 0;
    while (lim[n] < u)
        n++;
    const uint64_t enc = v >= 0 ? u : (uint64_t)((int64_t)lim[n] + v);
    b[0] = (uint8_t)(v >= 0 ? 0x14 + n : 0x14 - n);
    for (int i = 0; i < n; i++)
        b[1 + i] = (uint8_t)(enc >> (8 * (n - 1 - i)));
    return (uint32_t)n + 1;
}

static uint8_t tuple_code(uint8_t oid)
{
    switch (oid) {
    case MO_T_INT8: return 0x28;
    case MO_T_INT16: return 0x29;
    case MO_T_INT32: return 0x3a;
    case MO_T_INT64: return 0x3b;
    case MO_T_UINT8: return 0x3c;
    case MO_T_UINT16: return 0x3d;
    case MO_T_UINT32: return 0x3e;
    case MO_T_UINT64: return 0x40;
    default: return 0x46; /* string type */
    }
}

/* Appends user column ci of row k to a packed tuple (types.Packer: ints by their code, other
 * values as escaped bytes, NULL as the nil code). */
static uint32_t tuple_put(const gtab *t, uint32_t ci, int64_t k, uint8_t *b, uint32_t len)
{
    const gcol *c = &t->cols[ci];
    const int j = pk_index(t, ci);
    const uint8_t code = tuple_code(c->type.oid);
    int64_t iv = 0;
    uint8_t v[VMAX];
    uint32_t vn = 0;
    bool bytes = false;
    if (code != 0x46 && j < 0 && !col_canon(t, ci, k, &iv, v, &vn, &bytes)) {
        b[len++] = 0x00;
        return len;
    }
    if (code != 0x46 && !bytes) {
        b[len++] = code;
        return len + tuple_int(b + len, j >= 0 ? pk_part(t, (uint32_t)j, k) : iv);
    }
    if (!col_value(t, ci, k, v, &vn)) {
        b[len++] = 0x00;
        return len;
    }
    b[len++] = 0x46;
    b[len++] = 0x01;
    for (uint32_t x = 0; x < vn && len + 3 < VMAX; x++) {
        b[len++] = v[x];
        if (!v[x])
            b[len++] = 0xff;
    }
    b[len++] = 0x00;
    return len;
}

static bool cat_value(const gtab *t, uint32_t i, int64_t k, uint8_t *b, uint32_t *n);

/* A hidden index table's columns for parent row k: the packed (indexed value, PK parts)
 * tuple and the parent's PK storage value. */
static bool ix_value(const gtab *t, uint32_t i, int64_t k, uint8_t *b, uint32_t *n)
{
    const gtab *p = t->ix_par;
    if (i == 1)
        return cat_value(p, (uint32_t)p->cat.pk_col, k, b, n);
    uint32_t len = tuple_put(p, t->ix_col, k, b, 0);
    for (uint32_t j = 0; j < p->npk && len + 200 < VMAX; j++)
        len = tuple_put(p, (uint32_t)p->pk[j], k, b, len);
    *n = len;
    return true;
}

/* Stored column i of the parsed table (user columns, then hidden ones) for row k. */
static bool cat_value(const gtab *t, uint32_t i, int64_t k, uint8_t *b, uint32_t *n)
{
    if (t->ix_par)
        return ix_value(t, i, k, b, n);
    if (i < t->ncols)
        return col_value(t, i, k, b, n);
    const char *name = t->cat.cols[i].name;
    if (!strcmp(name, "__mo_fake_pk_col")) {
        put_le(b, (uint64_t)k + 1, 8);
        *n = 8;
        return true;
    }
    /* __mo_cpkey_col: the packed tuple of the PK columns */
    uint32_t len = 0;
    for (uint32_t j = 0; j < t->npk; j++)
        len = tuple_put(t, (uint32_t)t->pk[j], k, b, len);
    *n = len;
    return true;
}

/* The fingerprint hash of row k, as xfer_scan.c computes it over the user columns. */
static int row_hash(gen *g, const gtab *t, int64_t k, uint64_t *out)
{
    uint8_t v[VMAX];
    uint32_t n;
    g->rb.len = 0;
    int rc = MO_OK;
    for (uint32_t i = 0; i < t->ncols && rc == MO_OK; i++) {
        if (!col_value(t, i, k, v, &n)) {
            rc = mo_buf_put_u8(&g->rb, 0);
            continue;
        }
        if ((rc = mo_buf_put_u8(&g->rb, 1)) == MO_OK && (rc = mo_buf_put_le32(&g->rb, n)) == MO_OK)
            rc = mo_buf_put(&g->rb, v, n);
    }
    if (rc < 0)
        return mo_err_set(g->err, MO_ENOMEM, "row buffer");
    *out = mo_xxh3_64(g->rb.ptr ? g->rb.ptr : (const uint8_t *)"", g->rb.len);
    return MO_OK;
}

/* ---------------- CREATE TABLE text (§3.6.1) ---------------- */

static bool type_supported(uint8_t oid)
{
    switch (oid) {
    case MO_T_BOOL: case MO_T_INT8: case MO_T_INT16: case MO_T_INT32: case MO_T_INT64:
    case MO_T_UINT8: case MO_T_UINT16: case MO_T_UINT32: case MO_T_UINT64: case MO_T_FLOAT32:
    case MO_T_FLOAT64: case MO_T_DECIMAL64: case MO_T_DECIMAL128: case MO_T_DATE: case MO_T_TIME:
    case MO_T_DATETIME: case MO_T_TIMESTAMP: case MO_T_CHAR: case MO_T_VARCHAR: case MO_T_BINARY:
    case MO_T_VARBINARY: case MO_T_TEXT: case MO_T_BLOB: case MO_T_UUID:
        return true;
    default:
        return false;
    }
}

#define B(x)                                                                                       \
    do {                                                                                           \
        if ((x) < 0)                                                                               \
            goto oom;                                                                              \
    } while (0)

static int bputs(mo_buf *b, const char *s)
{
    return mo_buf_put(b, s, strlen(s));
}

static int table_sql(const gtab *t, char **out, mo_err *err)
{
    mo_buf b = MO_BUF_INIT;
    char ty[64];
    B(bputs(&b, "CREATE TABLE `"));
    B(bputs(&b, t->db));
    B(bputs(&b, "`.`"));
    B(bputs(&b, t->name));
    B(bputs(&b, "` (\n"));
    for (uint32_t i = 0; i < t->ncols; i++) {
        const gcol *c = &t->cols[i];
        mo_cat_type_sql(ty, sizeof(ty), &c->type);
        if (i)
            B(bputs(&b, ",\n"));
        B(bputs(&b, "  `"));
        B(bputs(&b, c->name));
        B(bputs(&b, "` "));
        B(bputs(&b, ty));
        const bool nn = c->not_null || pk_index(t, i) >= 0;
        if (nn)
            B(bputs(&b, " NOT NULL"));
        if (c->dflt[0]) {
            B(bputs(&b, " DEFAULT "));
            B(bputs(&b, c->dflt));
        } else if (!nn) {
            B(bputs(&b, c->type.oid == MO_T_TIMESTAMP ? " NULL DEFAULT NULL" : " DEFAULT NULL"));
        }
    }
    if (t->npk) {
        B(bputs(&b, ",\n  PRIMARY KEY ("));
        for (uint32_t j = 0; j < t->npk; j++) {
            B(bputs(&b, j ? ",`" : "`"));
            B(bputs(&b, t->cols[t->pk[j]].name));
            B(bputs(&b, "`"));
        }
        B(bputs(&b, ")"));
    }
    for (uint32_t x = 0; x < t->nidx; x++) {
        B(bputs(&b, ",\n  KEY `"));
        B(bputs(&b, t->idx[x].name));
        B(bputs(&b, "` (`"));
        B(bputs(&b, t->cols[t->idx[x].col].name));
        B(bputs(&b, "`)"));
        if (t->idx[x].invisible)
            B(bputs(&b, " INVISIBLE"));
    }
    B(bputs(&b, "\n) COLLATE=utf8mb4_general_ci"));
    if (t->comment[0]) {
        B(bputs(&b, " COMMENT='"));
        B(bputs(&b, t->comment));
        B(bputs(&b, "'"));
    }
    B(bputs(&b, " PROPERTIES('from_publication' = 'true')"));
    B(mo_buf_put_u8(&b, 0));
    *out = (char *)b.ptr;
    return MO_OK;
oom:
    mo_buf_dispose(&b);
    return mo_err_set(err, MO_ENOMEM, "CREATE TABLE text");
}

/* Regenerates the CREATE text, parses it as the catalog does and takes the stored types. */
static int table_reparse(gen *g, gtab *t)
{
    char *sql = NULL;
    int rc = table_sql(t, &sql, g->err);
    if (rc < 0)
        return rc;
    mo_cat_table ct;
    if ((rc = mo_cat_schema_parse(&ct, sql, g->err)) < 0) {
        mo_err_prefix(g->err, "generated %s.%s: ", t->db, t->name);
        mo_free(sql);
        return rc;
    }
    if (ct.ncols < t->ncols) {
        rc = mo_err_set(g->err, MO_ERROR, "generated %s.%s: %u columns parsed, %u written", t->db,
                        t->name, ct.ncols, t->ncols);
        mo_cat_table_dispose(&ct);
        mo_free(sql);
        return rc;
    }
    for (uint32_t i = 0; i < t->ncols; i++) {
        t->cols[i].type = ct.cols[i].type;
        t->cols[i].type.size = mo_obj_type_size(ct.cols[i].type.oid);
    }
    mo_cat_table_dispose(&t->cat);
    mo_free(t->sql);
    t->cat = ct;
    t->sql = sql;
    snprintf(t->cat.db, sizeof(t->cat.db), "%s", t->db);
    snprintf(t->cat.name, sizeof(t->cat.name), "%s", t->name);
    return MO_OK;
}

static int put_table(gen *g, gtab *t, bool dropped)
{
    t->cat.down_id = t->cat.up_id = t->id;
    t->cat.down_db_id = t->db_id;
    t->cat.created_ts = t->created_ts;
    memset(&t->cat.dropped_ts, 0, sizeof(t->cat.dropped_ts));
    if (dropped)
        t->cat.dropped_ts = g->ts;
    return mo_cat_put_table(g->txn, &t->cat, g->err);
}

/* ---------------- model bookkeeping ---------------- */

static void tab_free(gtab *t)
{
    if (!t)
        return;
    mo_free(t->cols);
    mo_free(t->idx);
    mo_free(t->rows);
    mo_free(t->objs);
    mo_cat_table_dispose(&t->cat);
    mo_free(t->sql);
    mo_free(t);
}

static int rows_reserve(gen *g, gtab *t, size_t extra)
{
    if (t->nrows + extra <= t->caprows)
        return MO_OK;
    size_t cap = t->caprows ? t->caprows : 1024;
    while (cap < t->nrows + extra)
        cap *= 2;
    grow *n = mo_realloc(t->rows, cap * sizeof(*n));
    if (!n)
        return mo_err_set(g->err, MO_ENOMEM, "row model: %zu rows", cap);
    t->rows = n;
    t->caprows = cap;
    return MO_OK;
}

static int objs_add(gen *g, gtab *t, uint32_t *idx)
{
    if (t->nobjs == t->capobjs) {
        const size_t cap = t->capobjs ? t->capobjs * 2 : 16;
        gobj *n = mo_realloc(t->objs, cap * sizeof(*n));
        if (!n)
            return mo_err_set(g->err, MO_ENOMEM, "object model");
        t->objs = n;
        t->capobjs = cap;
    }
    memset(&t->objs[t->nobjs], 0, sizeof(gobj));
    *idx = (uint32_t)t->nobjs++;
    return MO_OK;
}

static int put_obj(gen *g, const gtab *t, const gobj *o)
{
    mo_cat_object co;
    memset(&co, 0, sizeof(co));
    memcpy(co.stats, o->stats, MO_OBJ_STATS_LEN);
    co.table_id = t->id;
    co.is_tombstone = o->kind == K_TOMB;
    co.create_ts = o->create_ts;
    if (!o->live)
        co.delete_ts = g->ts;
    co.digest = o->digest;
    mo_obj_objectid_encode(co.upstream_id, &o->id);
    co.non_mergeable = false;
    return mo_cat_put_object_raw(g->txn, &co, g->err);
}

/* Soft-deletes object oi (delete_ts = this step), then every tombstone left pointing only
 * into dead objects, as MO's merge leaves them. */
static int kill_obj(gen *g, gtab *t, uint32_t oi)
{
    gobj *o = &t->objs[oi];
    if (!o->live)
        return MO_OK;
    o->live = 0;
    int rc = put_obj(g, t, o);
    if (rc < 0 || o->kind == K_TOMB)
        return rc;
    for (size_t i = 0; i < t->nobjs && rc == MO_OK; i++) {
        gobj *x = &t->objs[i];
        if (x->kind != K_TOMB || !x->live)
            continue;
        bool any = false, hit = false;
        for (uint32_t j = 0; j < x->ntgt; j++) {
            hit |= x->tgt[j] == oi;
            any |= t->objs[x->tgt[j]].live != 0;
        }
        if (hit && !any)
            rc = kill_obj(g, t, (uint32_t)i);
    }
    return rc;
}

static int kill_all(gen *g, gtab *t)
{
    int rc = MO_OK;
    for (size_t i = 0; i < t->nobjs && rc == MO_OK; i++)
        if (t->objs[i].live) {
            t->objs[i].live = 0;
            rc = put_obj(g, t, &t->objs[i]);
        }
    return rc;
}

/* ---------------- object writing ---------------- */

typedef struct wrow {
    int64_t k;
    int64_t cts;
    uint8_t abort;
} wrow;

static int write_file(gen *g, const mo_obj_objectid *id, const mo_buf *file, mo_digest128 *dg)
{
    char name[43], path[4200];
    mo_obj_name_format(name, id);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", g->dir, name) >= sizeof(path))
        return mo_err_set(g->err, MO_EINVAL, "%s: path too long", g->dir);
    *dg = mo_xxh3_128(file->ptr, file->len);
    return mo_sys_write_file_atomic(path, file->ptr, file->len, g->err);
}

static int finish_obj(gen *g, gtab *t, mo_obj_writer *w, uint8_t kind, int level,
                      uint32_t *oi_out)
{
    mo_buf file = MO_BUF_INIT;
    mo_obj_stats st;
    uint32_t oi = 0;
    int rc = mo_obj_writer_finish(w, &file, &st, g->err);
    if (rc == MO_OK)
        rc = objs_add(g, t, &oi);
    if (rc == MO_OK) {
        gobj *o = &t->objs[oi];
        o->id = st.id;
        o->kind = kind;
        o->live = 1;
        o->level = (uint8_t)(level > 7 ? 7 : level);
        mo_obj_stats_set_level(&st, o->level);
        mo_obj_stats_encode(o->stats, &st);
        o->create_ts = g->ts;
        if ((rc = write_file(g, &st.id, &file, &o->digest)) == MO_OK)
            rc = put_obj(g, t, o);
        if (rc == MO_OK) {
            *oi_out = oi;
            if (g->rep) {
                g->rep->objects_written++;
                g->rep->rows_written += st.rows;
            }
        } else {
            t->nobjs--;
        }
    }
    mo_buf_dispose(&file);
    return rc;
}

/* Writes one data or appendable object with @p rows in the given order (row i at block
 * i / 8192, offset i % 8192). */
static int write_data(gen *g, gtab *t, uint8_t kind, const wrow *rows, uint32_t n, uint8_t flags,
                      int level, uint32_t *oi_out)
{
    enum { MAXC = 300 };
    const uint32_t nc = t->cat.ncols;
    const uint32_t nw = nc + (kind == K_APPEND ? 2 : 0);
    if (nc > MAXC - 2)
        return mo_err_set(g->err, MO_EINVAL, "%s: too many columns", t->name);
    mo_obj_writer_col wc[MAXC];
    mo_obj_colbuf cb[MAXC];
    mo_obj_vec views[MAXC];
    for (uint32_t i = 0; i < nc; i++) {
        wc[i].type = t->cat.cols[i].type;
        wc[i].type.size = mo_obj_type_size(wc[i].type.oid);
        wc[i].seqnum = t->cat.cols[i].seqnum;
    }
    if (kind == K_APPEND) {
        wc[nc] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
        wc[nc + 1] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    }
    mo_obj_objectid id;
    new_objid(g, &id);
    mo_obj_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.kind = kind == K_APPEND ? MO_OBJ_KIND_APPENDABLE : MO_OBJ_KIND_DATA;
    o.pk_pos = t->cat.pk_col;
    o.sort_key_pos = kind == K_DATA && t->cat.real_pk ? t->cat.pk_col : -1;
    o.stats_flags = flags;
    o.id = &id;
    for (uint32_t i = 0; i < nw; i++)
        mo_obj_colbuf_init(&cb[i], &wc[i].type);
    mo_obj_writer *w = NULL;
    int rc = mo_obj_writer_new(&w, wc, nw, &o, g->err);
    uint8_t v[VMAX];
    for (uint32_t base = 0; rc == MO_OK && base < n; base += MO_OBJ_BLOCK_MAX_ROWS) {
        const uint32_t m = n - base < MO_OBJ_BLOCK_MAX_ROWS ? n - base : MO_OBJ_BLOCK_MAX_ROWS;
        for (uint32_t i = 0; i < nw; i++)
            mo_obj_colbuf_reset(&cb[i]);
        for (uint32_t r = 0; r < m && rc == MO_OK; r++) {
            const wrow *x = &rows[base + r];
            for (uint32_t i = 0; i < nc && rc == MO_OK; i++) {
                uint32_t vn;
                if (!cat_value(t, i, x->k, v, &vn))
                    rc = mo_obj_colbuf_append_null(&cb[i]);
                else if (mo_obj_type_is_varlena(wc[i].type.oid))
                    rc = mo_obj_colbuf_append_bytes(&cb[i], v, vn);
                else
                    rc = mo_obj_colbuf_append_fixed(&cb[i], v);
            }
            if (kind == K_APPEND && rc == MO_OK) {
                uint8_t ts[12];
                mo_obj_ts_encode(ts, (mo_obj_ts){x->cts, 0});
                if ((rc = mo_obj_colbuf_append_fixed(&cb[nc], ts)) == MO_OK)
                    rc = mo_obj_colbuf_append_fixed(&cb[nc + 1], &x->abort);
            }
        }
        if (rc < 0) {
            rc = mo_err_set(g->err, rc, "generating rows");
            break;
        }
        for (uint32_t i = 0; i < nw; i++)
            mo_obj_colbuf_view(&views[i], &cb[i]);
        rc = mo_obj_writer_add_block(w, views, g->err);
    }
    if (rc == MO_OK)
        rc = finish_obj(g, t, w, kind, level, oi_out);
    for (uint32_t i = 0; i < nw; i++)
        mo_obj_colbuf_dispose(&cb[i]);
    mo_obj_writer_free(w);
    if (rc < 0)
        mo_err_prefix(g->err, "%s.%s: ", t->db, t->name);
    return rc;
}

/* Places rows[0..n) of the model as rows of object oi (model row indexes in @p idx). */
static void place_rows(gtab *t, const size_t *idx, uint32_t n, uint32_t oi)
{
    for (uint32_t i = 0; i < n; i++) {
        grow *r = &t->rows[idx[i]];
        r->obj = oi;
        r->blk = (uint16_t)(i / MO_OBJ_BLOCK_MAX_ROWS);
        r->row = i % MO_OBJ_BLOCK_MAX_ROWS;
    }
}

static uint8_t cn_flags(const gtab *t)
{
    return (uint8_t)((t->cat.real_pk ? MO_OBJ_STATS_SORTED : 0) | MO_OBJ_STATS_CNCREATED);
}

/* Appends rows with keys [k0, k0+n) to the model and writes them as CN data objects of
 * realistic sizes (sorted by PK). */
static int insert_cn(gen *g, gtab *t, int64_t k0, uint64_t n, bool vary)
{
    int rc = MO_OK;
    wrow *w = NULL;
    size_t *idx = NULL;
    uint64_t done = 0;
    while (done < n && rc == MO_OK) {
        uint64_t chunk = n - done;
        if (vary) {
            uint64_t c = n / 3;
            c = c < 4096 ? 4096 : c > 131072 ? 131072 : c;
            c = c * (75 + rndn(g, 51)) / 100;
            chunk = chunk < c ? chunk : c;
        }
        if (chunk > 262144)
            chunk = 262144;
        mo_free(w);
        mo_free(idx);
        w = mo_malloc(chunk * sizeof(*w));
        idx = mo_malloc(chunk * sizeof(*idx));
        if (!w || !idx || (rc = rows_reserve(g, t, chunk)) < 0) {
            rc = rc < 0 ? rc : mo_err_set(g->err, MO_ENOMEM, "insert rows");
            break;
        }
        for (uint64_t i = 0; i < chunk; i++) {
            w[i] = (wrow){k0 + (int64_t)(done + i), 0, 0};
            grow *r = &t->rows[t->nrows + i];
            memset(r, 0, sizeof(*r));
            r->k = w[i].k;
            if ((rc = row_hash(g, t, r->k, &r->h)) < 0)
                break;
            idx[i] = t->nrows + i;
        }
        uint32_t oi;
        if (rc == MO_OK &&
            (rc = write_data(g, t, K_DATA, w, (uint32_t)chunk, cn_flags(t), 0, &oi)) == MO_OK) {
            t->nrows += chunk;
            place_rows(t, idx, (uint32_t)chunk, oi);
        }
        done += chunk;
    }
    if (t->next_k < k0 + (int64_t)n)
        t->next_k = k0 + (int64_t)n;
    mo_free(w);
    mo_free(idx);
    return rc;
}

/* One appendable object of @p n visible rows (plus a few aborted ones): commit TS spread over
 * this step's window, about 8% committed only after this step's TS (visible from the next). */
static int insert_append(gen *g, gtab *t, uint32_t n)
{
    const uint32_t cap = n + n / 16 + 2;
    wrow *w = mo_malloc(cap * sizeof(*w));
    size_t *idx = mo_malloc(cap * sizeof(*idx));
    int rc = rows_reserve(g, t, cap);
    if (!w || !idx || rc < 0) {
        mo_free(w);
        mo_free(idx);
        return rc < 0 ? rc : mo_err_set(g->err, MO_ENOMEM, "append rows");
    }
    uint32_t m = 0, vis = 0;
    const int64_t span = STEP_NS / 2;
    while (vis < n && m < cap) {
        wrow *x = &w[m];
        x->k = t->next_k++;
        x->abort = rndn(g, 33) == 0 && m + 1 < cap;
        const int64_t off = (int64_t)((uint64_t)span * m / cap);
        x->cts = g->ts.physical - span + off + 1;
        if (!x->abort && rndn(g, 12) == 0)
            x->cts = g->ts.physical + 1 + (int64_t)rndn(g, (uint64_t)span);
        if (!x->abort) {
            grow *r = &t->rows[t->nrows + vis];
            memset(r, 0, sizeof(*r));
            r->k = x->k;
            r->cts = x->cts;
            if ((rc = row_hash(g, t, r->k, &r->h)) < 0)
                goto out;
            idx[vis++] = m;
        }
        m++;
    }
    uint32_t oi;
    if ((rc = write_data(g, t, K_APPEND, w, m, 0, 0, &oi)) < 0)
        goto out;
    for (uint32_t i = 0; i < vis; i++) {
        grow *r = &t->rows[t->nrows + i];
        r->obj = oi;
        r->blk = (uint16_t)(idx[i] / MO_OBJ_BLOCK_MAX_ROWS);
        r->row = (uint32_t)(idx[i] % MO_OBJ_BLOCK_MAX_ROWS);
    }
    t->nrows += vis;
out:
    mo_free(w);
    mo_free(idx);
    return rc;
}

typedef struct trow {
    uint8_t rid[MO_OBJ_ROWID_LEN];
    int64_t k;
} trow;

static int cmp_trow(const void *a, const void *b)
{
    const uint8_t *x = ((const trow *)a)->rid, *y = ((const trow *)b)->rid;
    int c = memcmp(x, y, 16);
    if (c)
        return c;
    const uint64_t p = ((uint64_t)mo_load_le16(x + 16) << 48) | ((uint64_t)mo_load_le16(x + 18) << 32) |
                       mo_load_le32(x + 20);
    const uint64_t q = ((uint64_t)mo_load_le16(y + 16) << 48) | ((uint64_t)mo_load_le16(y + 18) << 32) |
                       mo_load_le32(y + 20);
    return (p > q) - (p < q);
}

/* One tombstone object over rows @p tr (sorted here): CN-style [rowid, pk] (sorted,
 * CN-created) or TN-flush style [rowid, pk, commit-ts] (sorted). */
static int write_tomb(gen *g, gtab *t, trow *tr, uint32_t n, bool tn, const uint32_t *tgt,
                      uint32_t ntgt)
{
    qsort(tr, n, sizeof(*tr), cmp_trow);
    mo_obj_writer_col wc[3];
    wc[0] = (mo_obj_writer_col){mo_obj_type_default(MO_T_ROWID), 0};
    wc[1].type = t->cat.cols[t->cat.pk_col].type;
    wc[1].type.size = mo_obj_type_size(wc[1].type.oid);
    wc[1].seqnum = 1;
    wc[2] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
    const uint32_t nw = tn ? 3 : 2;
    mo_obj_objectid id;
    new_objid(g, &id);
    mo_obj_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.kind = MO_OBJ_KIND_TOMBSTONE;
    o.pk_pos = 1;
    o.sort_key_pos = 0;
    o.stats_flags = (uint8_t)(MO_OBJ_STATS_SORTED | (tn ? 0 : MO_OBJ_STATS_CNCREATED));
    o.id = &id;
    mo_obj_colbuf cb[3];
    mo_obj_vec views[3];
    for (uint32_t i = 0; i < nw; i++)
        mo_obj_colbuf_init(&cb[i], &wc[i].type);
    mo_obj_writer *w = NULL;
    int rc = mo_obj_writer_new(&w, wc, nw, &o, g->err);
    uint8_t v[VMAX];
    for (uint32_t base = 0; rc == MO_OK && base < n; base += MO_OBJ_BLOCK_MAX_ROWS) {
        const uint32_t m = n - base < MO_OBJ_BLOCK_MAX_ROWS ? n - base : MO_OBJ_BLOCK_MAX_ROWS;
        for (uint32_t i = 0; i < nw; i++)
            mo_obj_colbuf_reset(&cb[i]);
        for (uint32_t r = 0; r < m && rc == MO_OK; r++) {
            const trow *x = &tr[base + r];
            uint32_t vn;
            rc = mo_obj_colbuf_append_fixed(&cb[0], x->rid);
            if (rc == MO_OK) {
                cat_value(t, (uint32_t)t->cat.pk_col, x->k, v, &vn);
                rc = mo_obj_type_is_varlena(wc[1].type.oid) ? mo_obj_colbuf_append_bytes(&cb[1], v, vn)
                                                             : mo_obj_colbuf_append_fixed(&cb[1], v);
            }
            if (rc == MO_OK && tn) {
                uint8_t ts[12];
                mo_obj_ts_encode(ts, g->ts);
                rc = mo_obj_colbuf_append_fixed(&cb[2], ts);
            }
        }
        if (rc < 0) {
            rc = mo_err_set(g->err, rc, "tombstone rows");
            break;
        }
        for (uint32_t i = 0; i < nw; i++)
            mo_obj_colbuf_view(&views[i], &cb[i]);
        rc = mo_obj_writer_add_block(w, views, g->err);
    }
    uint32_t oi;
    if (rc == MO_OK && (rc = finish_obj(g, t, w, K_TOMB, 0, &oi)) == MO_OK) {
        gobj *to = &t->objs[oi];
        to->ntgt = (uint8_t)ntgt;
        memcpy(to->tgt, tgt, ntgt * sizeof(*tgt));
    }
    for (uint32_t i = 0; i < nw; i++)
        mo_obj_colbuf_dispose(&cb[i]);
    mo_obj_writer_free(w);
    return rc;
}

/* ---------------- tables ---------------- */

typedef struct dschema {
    const char *table;
    const char *cols; /* name:type[!] ... ('!' = NOT NULL) */
    const char *pk;   /* column names, ',' separated; "" = no primary key */
    uint32_t radix[MAX_PK];
} dschema;

static const dschema defaults[] = {
    {"warehouse",
     "w_id:int32,w_name:varchar(10),w_street_1:varchar(20),w_city:varchar(20),w_state:char(2),"
     "w_zip:char(9),w_tax:decimal64(4,4),w_ytd:decimal64(12,2)",
     "w_id", {0}},
    {"district",
     "d_w_id:int32,d_id:int32,d_name:varchar(10),d_street_1:varchar(20),d_city:varchar(20),"
     "d_tax:decimal64(4,4),d_ytd:decimal64(12,2),d_next_o_id:int32",
     "d_w_id,d_id", {0, 10}},
    {"customer",
     "c_w_id:int32,c_d_id:int32,c_id:int32,c_first:varchar(16),c_middle:char(2),"
     "c_last:varchar(16)!,c_since:timestamp,c_credit:char(2),c_credit_lim:decimal64(12,2),"
     "c_discount:decimal64(4,4),c_balance:decimal64(12,2),c_payment_cnt:int32,c_data:text",
     "c_w_id,c_d_id,c_id", {0, 10, 3000}},
    {"history",
     "h_c_id:int32,h_c_d_id:int32,h_c_w_id:int32,h_d_id:int32,h_w_id:int32,h_date:datetime,"
     "h_amount:decimal64(6,2),h_data:varchar(24)",
     "", {0}},
    {"orders",
     "o_w_id:int32,o_d_id:int32,o_id:int32,o_c_id:int32,o_entry_d:timestamp!,"
     "o_carrier_id:int32,o_ol_cnt:int32,o_all_local:int32",
     "o_w_id,o_d_id,o_id", {0, 10, 3000}},
    {"new_order", "no_w_id:int32,no_d_id:int32,no_o_id:int32", "no_w_id,no_d_id,no_o_id",
     {0, 10, 3000}},
    {"order_line",
     "ol_w_id:int32,ol_d_id:int32,ol_o_id:int32,ol_number:int32,ol_i_id:int32,"
     "ol_supply_w_id:int32,ol_delivery_d:timestamp,ol_quantity:int32,ol_amount:decimal64(6,2),"
     "ol_dist_info:char(24)",
     "ol_w_id,ol_d_id,ol_o_id,ol_number", {0, 10, 3000, 15}},
    {"stock",
     "s_w_id:int32,s_i_id:int32,s_quantity:int32,s_dist_01:char(24),s_ytd:int32,"
     "s_order_cnt:int32,s_remote_cnt:int32,s_data:varchar(50)",
     "s_w_id,s_i_id", {0, 100000}},
    {"item",
     "i_id:int32,i_im_id:int32,i_name:varchar(24)!,i_price:decimal64(5,2)!,i_data:varchar(50)",
     "i_id", {0}},
    {NULL, /* generic */
     "id:int64,k:int32!,amount:decimal64(15,2),price:float64,created:timestamp(6),d:date,"
     "name:varchar(40),note:text,flag:bool",
     "id", {0}},
};

static int add_col(gen *g, gtab *t, const char *name, const mo_obj_type *ty, bool not_null)
{
    if (strlen(name) >= NAME_LEN)
        return mo_err_set(g->err, MO_EINVAL, "column name too long: %s", name);
    if (!type_supported(ty->oid))
        return mo_err_set(g->err, MO_EINVAL, "column %s: type %s not supported by gen", name,
                          mo_obj_type_name(ty->oid) ? mo_obj_type_name(ty->oid) : "?");
    gcol *n = mo_realloc(t->cols, (t->ncols + 1) * sizeof(*n));
    if (!n)
        return mo_err_set(g->err, MO_ENOMEM, "columns");
    t->cols = n;
    gcol *c = &t->cols[t->ncols++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->type = *ty;
    c->dom = ty->oid;
    c->dom_w = ty->width;
    c->dom_s = ty->scale;
    c->gid = ++g->gid_seq;
    c->not_null = not_null;
    return MO_OK;
}

/* "name:type[!],..." into columns. */
static int parse_cols(gen *g, gtab *t, const char *spec)
{
    const char *p = spec;
    while (*p) {
        const char *end = p;
        int depth = 0;
        while (*end && (*end != ',' || depth)) {
            depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
            end++;
        }
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (!colon || colon == p || colon + 1 >= end)
            return mo_err_set(g->err, MO_EINVAL, "schema: want name:type, got '%.*s'",
                              (int)(end - p), p);
        char name[NAME_LEN];
        if ((size_t)(colon - p) >= sizeof(name))
            return mo_err_set(g->err, MO_EINVAL, "schema: column name too long");
        memcpy(name, p, (size_t)(colon - p));
        name[colon - p] = 0;
        size_t tl = (size_t)(end - colon - 1);
        const bool nn = colon[tl] == '!';
        if (nn)
            tl--;
        mo_obj_type ty;
        int rc = mo_obj_type_parse(&ty, colon + 1, tl, g->err);
        if (rc < 0)
            return rc;
        if ((rc = add_col(g, t, name, &ty, nn)) < 0)
            return rc;
        p = *end ? end + 1 : end;
    }
    return t->ncols ? MO_OK : mo_err_set(g->err, MO_EINVAL, "schema: no columns");
}

static int set_pk(gen *g, gtab *t, const char *pk, const uint32_t *radix)
{
    t->npk = 0;
    const char *p = pk;
    while (*p) {
        const size_t n = strcspn(p, ",");
        int found = -1;
        for (uint32_t i = 0; i < t->ncols; i++)
            if (strlen(t->cols[i].name) == n && !memcmp(t->cols[i].name, p, n))
                found = (int)i;
        if (found < 0 || t->npk == MAX_PK)
            return mo_err_set(g->err, MO_EINVAL, "primary key '%s'", pk);
        const uint8_t oid = t->cols[found].type.oid;
        if (!is_int(oid) && !(t->npk == 0 && !p[n] && (oid == MO_T_VARCHAR || oid == MO_T_CHAR)))
            return mo_err_set(g->err, MO_EINVAL,
                              "primary key column %s: gen supports integer keys (or one varchar)",
                              t->cols[found].name);
        t->radix[t->npk] = radix ? radix[t->npk] : 0;
        t->pk[t->npk++] = found;
        t->cols[found].not_null = 1;
        p += n;
        if (*p)
            p++;
    }
    if (t->npk > 1)
        for (uint32_t j = 1; j < t->npk; j++)
            if (!t->radix[j])
                t->radix[j] = 100;
    return MO_OK;
}

static gtab *tab_new(gen *g, const char *db, uint64_t db_id, const char *name)
{
    gtab *t = mo_calloc(1, sizeof(*t));
    if (!t) {
        mo_err_set(g->err, MO_ENOMEM, "table");
        return NULL;
    }
    snprintf(t->db, sizeof(t->db), "%s", db);
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->db_id = db_id;
    t->tseed = rnd(g);
    t->created_ts = g->ts;
    t->cat.pk_col = t->cat.sort_col = -1;
    return t;
}

static int tabs_add(gen *g, gtab *t)
{
    gtab **n = mo_realloc(g->tabs, (g->ntabs + 1) * sizeof(*n));
    if (!n)
        return mo_err_set(g->err, MO_ENOMEM, "tables");
    g->tabs = n;
    g->tabs[g->ntabs++] = t;
    return MO_OK;
}

static void tabs_remove(gen *g, size_t i)
{
    tab_free(g->tabs[i]);
    memmove(&g->tabs[i], &g->tabs[i + 1], (g->ntabs - i - 1) * sizeof(*g->tabs));
    g->ntabs--;
}

/* Creates, catalogs and loads a table (schema NULL: default by name). */
static int create_table(gen *g, const char *db, uint64_t db_id, const char *name,
                        const char *schema, uint64_t rows, double ashare)
{
    if (strlen(name) >= NAME_LEN || !name[0] || strchr(name, '`'))
        return mo_err_set(g->err, MO_EINVAL, "table name '%s'", name);
    for (size_t i = 0; i < g->ntabs; i++)
        if (!strcmp(g->tabs[i]->db, db) && !strcmp(g->tabs[i]->name, name))
            return mo_err_set(g->err, MO_EEXISTS, "table %s.%s twice", db, name);
    gtab *t = tab_new(g, db, db_id, name);
    if (!t)
        return MO_ENOMEM;
    int rc;
    if (schema) {
        if ((rc = parse_cols(g, t, schema)) == MO_OK)
            rc = set_pk(g, t, t->cols[0].name, NULL);
    } else {
        const dschema *d = defaults;
        while (d->table && strcmp(d->table, name))
            d++;
        if ((rc = parse_cols(g, t, d->cols)) == MO_OK)
            rc = set_pk(g, t, d->pk, d->radix);
    }
    if (rc == MO_OK)
        rc = table_reparse(g, t);
    if (rc == MO_OK)
        rc = mo_cat_next_id(g->txn, "table", &t->id, g->err);
    if (rc == MO_OK)
        rc = put_table(g, t, false);
    if (rc == MO_OK)
        rc = tabs_add(g, t);
    if (rc < 0) {
        tab_free(t);
        return rc;
    }
    const uint64_t napp = (uint64_t)((double)rows * ashare);
    if (rows > napp && (rc = insert_cn(g, t, 0, rows - napp, true)) < 0)
        return rc;
    for (uint64_t done = 0; done < napp && rc == MO_OK;) {
        uint64_t n = napp - done < 8000 ? napp - done : 8000;
        rc = insert_append(g, t, (uint32_t)n);
        done += n;
    }
    return rc;
}

/* TRUNCATE / copy ALTER: a new table id with the same definition (the caller changes it),
 * the old table's row kept as dropped and all its objects deleted. */
static int replace_table(gen *g, size_t ti, gtab **out)
{
    gtab *old = g->tabs[ti];
    gtab *t = tab_new(g, old->db, old->db_id, old->name);
    if (!t)
        return MO_ENOMEM;
    t->tseed = old->tseed;
    t->next_k = old->next_k;
    t->npk = old->npk;
    memcpy(t->pk, old->pk, sizeof(t->pk));
    memcpy(t->radix, old->radix, sizeof(t->radix));
    memcpy(t->comment, old->comment, sizeof(t->comment));
    t->cols = mo_malloc(old->ncols * sizeof(*t->cols));
    t->idx = old->nidx ? mo_malloc(old->nidx * sizeof(*t->idx)) : NULL;
    int rc = MO_OK;
    if (!t->cols || (old->nidx && !t->idx)) {
        tab_free(t);
        return mo_err_set(g->err, MO_ENOMEM, "table copy");
    }
    memcpy(t->cols, old->cols, old->ncols * sizeof(*t->cols));
    t->ncols = old->ncols;
    if (old->nidx)
        memcpy(t->idx, old->idx, old->nidx * sizeof(*t->idx));
    t->nidx = old->nidx;
    if ((rc = mo_cat_next_id(g->txn, "table", &t->id, g->err)) < 0 ||
        (rc = kill_all(g, old)) < 0 || (rc = put_table(g, old, true)) < 0) {
        tab_free(t);
        return rc;
    }
    g->tabs[ti] = t;
    *out = t;
    /* the old row model moves over; the caller rewrites or clears it */
    t->rows = old->rows;
    t->nrows = old->nrows;
    t->caprows = old->caprows;
    old->rows = NULL;
    tab_free(old);
    return MO_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* After a copy ALTER: rehash every row under the new schema and write it all as CN objects. */
static int rewrite_rows(gen *g, gtab *t)
{
    int rc = table_reparse(g, t);
    if (rc < 0 || (rc = put_table(g, t, false)) < 0)
        return rc;
    /* rows in key order, as INSERT ... SELECT through CN writes them (sorted by PK) */
    const size_t n = t->nrows;
    int64_t *keys = n ? mo_malloc(n * sizeof(*keys)) : NULL;
    if (n && !keys)
        return mo_err_set(g->err, MO_ENOMEM, "copy rows");
    for (size_t i = 0; i < n; i++)
        keys[i] = t->rows[i].k;
    t->nrows = 0;
    if (n)
        qsort(keys, n, sizeof(*keys), cmp_i64);
    const int64_t next = t->next_k;
    wrow *w = n ? mo_malloc(n * sizeof(*w)) : NULL;
    size_t *idx = n ? mo_malloc(n * sizeof(*idx)) : NULL;
    if (n && (!w || !idx)) {
        rc = mo_err_set(g->err, MO_ENOMEM, "copy rows");
        goto out;
    }
    size_t done = 0;
    while (done < n && rc == MO_OK) {
        uint64_t c = n / 3;
        c = c < 4096 ? 4096 : c > 131072 ? 131072 : c;
        const size_t chunk = n - done < c ? n - done : c;
        for (size_t i = 0; i < chunk && rc == MO_OK; i++) {
            grow *r = &t->rows[done + i];
            memset(r, 0, sizeof(*r));
            r->k = keys[done + i];
            rc = row_hash(g, t, r->k, &r->h);
            w[i] = (wrow){r->k, 0, 0};
            idx[i] = done + i;
        }
        uint32_t oi;
        if (rc == MO_OK &&
            (rc = write_data(g, t, K_DATA, w, (uint32_t)chunk, cn_flags(t), 0, &oi)) == MO_OK) {
            place_rows(t, idx, (uint32_t)chunk, oi);
            t->nrows = done + chunk;
        }
        done += chunk;
    }
    t->next_k = next;
out:
    mo_free(keys);
    mo_free(w);
    mo_free(idx);
    return rc;
}

/* ---------------- operations ---------------- */

#define NA 1 /* operation not applicable now */

typedef bool (*tab_pred)(const gen *g, const gtab *t);

static gtab *pick(gen *g, tab_pred ok, size_t *index)
{
    size_t n = 0;
    for (size_t i = 0; i < g->ntabs; i++)
        n += !ok || ok(g, g->tabs[i]);
    if (!n)
        return NULL;
    size_t want = rndn(g, n);
    for (size_t i = 0; i < g->ntabs; i++)
        if (!ok || ok(g, g->tabs[i])) {
            if (!want--) {
                if (index)
                    *index = i;
                return g->tabs[i];
            }
        }
    return NULL;
}

static bool has_rows(const gen *g, const gtab *t)
{
    (void)g;
    return t->nrows > 0;
}

static bool mergeable(const gen *g, const gtab *t)
{
    (void)g;
    size_t n = 0;
    for (size_t i = 0; i < t->nobjs; i++)
        n += t->objs[i].live && t->objs[i].kind != K_TOMB;
    return n >= 2;
}

static int op_insert(gen *g)
{
    gtab *t = pick(g, NULL, NULL);
    if (!t)
        return NA;
    uint64_t hi = t->nrows / 10 + 200;
    hi = hi > 20000 ? 20000 : hi;
    return insert_cn(g, t, t->next_k, 1 + rndn(g, hi), false);
}

static int op_append(gen *g)
{
    gtab *t = pick(g, NULL, NULL);
    return t ? insert_append(g, t, (uint32_t)(50 + rndn(g, 3000))) : NA;
}

static int op_delete(gen *g)
{
    gtab *t = pick(g, has_rows, NULL);
    if (!t)
        return NA;
    uint64_t hi = t->nrows / 30;
    hi = hi < 1 ? 1 : hi > 5000 ? 5000 : hi;
    const uint64_t want = 1 + rndn(g, hi);
    uint8_t *mark = mo_calloc(t->nrows, 1);
    trow *tr = mo_malloc(want * sizeof(*tr));
    if (!mark || !tr) {
        mo_free(mark);
        mo_free(tr);
        return mo_err_set(g->err, MO_ENOMEM, "delete");
    }
    uint32_t tgt[MAX_TGT], ntgt = 0, n = 0;
    for (uint64_t tries = 0; n < want && tries < want * 4; tries++) {
        const size_t r = rndn(g, t->nrows);
        if (mark[r])
            continue;
        const grow *x = &t->rows[r];
        uint32_t j = 0;
        while (j < ntgt && tgt[j] != x->obj)
            j++;
        if (j == ntgt) {
            if (ntgt == MAX_TGT)
                continue;
            tgt[ntgt++] = x->obj;
        }
        mark[r] = 1;
        mo_obj_rowid_make(tr[n].rid, &t->objs[x->obj].id, x->blk, x->row);
        tr[n++].k = x->k;
    }
    int rc = write_tomb(g, t, tr, n, rndn(g, 2) == 0, tgt, ntgt);
    if (rc == MO_OK) {
        size_t w = 0;
        for (size_t r = 0; r < t->nrows; r++)
            if (!mark[r])
                t->rows[w++] = t->rows[r];
        t->nrows = w;
    }
    mo_free(mark);
    mo_free(tr);
    return rc;
}

typedef struct krow {
    int64_t k;
    size_t i;
} krow;

static int cmp_krow(const void *a, const void *b)
{
    return cmp_i64(a, b);
}

/* TN merge: 2..4 live data objects replaced by one sorted object with their live rows. */
static int op_merge(gen *g)
{
    gtab *t = pick(g, mergeable, NULL);
    if (!t)
        return NA;
    uint32_t cand[64], nc = 0;
    for (size_t i = 0; i < t->nobjs && nc < 64; i++)
        if (t->objs[i].live && t->objs[i].kind != K_TOMB)
            cand[nc++] = (uint32_t)i;
    uint32_t m = 2 + (uint32_t)rndn(g, 3);
    m = m > nc ? nc : m;
    for (uint32_t i = 0; i < m; i++) { /* partial shuffle: the first m are the chosen */
        const uint32_t j = i + (uint32_t)rndn(g, nc - i);
        const uint32_t x = cand[i];
        cand[i] = cand[j];
        cand[j] = x;
    }
    uint8_t *in = mo_calloc(t->nobjs, 1);
    if (!in)
        return mo_err_set(g->err, MO_ENOMEM, "merge");
    int level = 0;
    for (uint32_t i = 0; i < m; i++) {
        in[cand[i]] = 1;
        level = t->objs[cand[i]].level > level ? t->objs[cand[i]].level : level;
    }
    size_t n = 0;
    for (size_t r = 0; r < t->nrows; r++)
        n += in[t->rows[r].obj];
    krow *kr = n ? mo_malloc(n * sizeof(*kr)) : NULL;
    wrow *w = n ? mo_malloc(n * sizeof(*w)) : NULL;
    size_t *idx = n ? mo_malloc(n * sizeof(*idx)) : NULL;
    int rc = MO_OK;
    if (n && (!kr || !w || !idx)) {
        rc = mo_err_set(g->err, MO_ENOMEM, "merge rows");
        goto out;
    }
    n = 0;
    for (size_t r = 0; r < t->nrows; r++)
        if (in[t->rows[r].obj])
            kr[n++] = (krow){t->rows[r].k, r};
    qsort(kr, n, sizeof(*kr), cmp_krow);
    for (size_t i = 0; i < n; i++) {
        w[i] = (wrow){kr[i].k, 0, 0};
        idx[i] = kr[i].i;
    }
    if (n) {
        uint32_t oi;
        const uint8_t fl = t->cat.real_pk ? MO_OBJ_STATS_SORTED : 0;
        if ((rc = write_data(g, t, K_DATA, w, (uint32_t)n, fl, level + 1, &oi)) < 0)
            goto out;
        place_rows(t, idx, (uint32_t)n, oi);
        for (size_t i = 0; i < n; i++)
            t->rows[idx[i]].cts = 0;
    }
    for (uint32_t i = 0; i < m && rc == MO_OK; i++)
        rc = kill_obj(g, t, cand[i]);
out:
    mo_free(in);
    mo_free(kr);
    mo_free(w);
    mo_free(idx);
    return rc;
}

static int op_truncate(gen *g)
{
    size_t ti;
    if (!pick(g, NULL, &ti))
        return NA;
    gtab *t;
    int rc = replace_table(g, ti, &t);
    if (rc < 0)
        return rc;
    t->nrows = 0;
    if ((rc = table_reparse(g, t)) < 0)
        return rc;
    return put_table(g, t, false);
}

static bool non_pk_col(const gtab *t, uint32_t i)
{
    return pk_index(t, i) < 0;
}

static bool indexed(const gtab *t, uint32_t ci)
{
    for (uint32_t x = 0; x < t->nidx; x++)
        if (t->idx[x].col == ci)
            return true;
    return false;
}

/* A random user column satisfying @p ok (-1 none). */
static int pick_col(gen *g, const gtab *t, bool (*ok)(const gtab *, uint32_t))
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->ncols; i++)
        n += ok(t, i);
    if (!n)
        return -1;
    uint32_t want = (uint32_t)rndn(g, n);
    for (uint32_t i = 0; i < t->ncols; i++)
        if (ok(t, i) && !want--)
            return (int)i;
    return -1;
}

static bool droppable_col(const gtab *t, uint32_t i)
{
    return non_pk_col(t, i) && !indexed(t, i);
}

static bool retypable_col(const gtab *t, uint32_t i)
{
    const uint8_t o = t->cols[i].type.oid;
    return non_pk_col(t, i) && !indexed(t, i) &&
           (o == MO_T_INT32 || o == MO_T_VARCHAR || o == MO_T_DECIMAL64);
}

static bool can_drop_col(const gen *g, const gtab *t)
{
    (void)g;
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->ncols; i++)
        n += droppable_col(t, i);
    return n >= 2 || (n == 1 && t->ncols > t->npk + 1);
}

static bool can_retype(const gen *g, const gtab *t)
{
    (void)g;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (retypable_col(t, i))
            return true;
    return false;
}

static int op_copy_alter(gen *g, int kind)
{
    size_t ti;
    tab_pred ok = kind == MO_GEN_OP_DROP_COLUMN ? can_drop_col
                  : kind == MO_GEN_OP_MODIFY_TYPE ? can_retype : NULL;
    if (!pick(g, ok, &ti))
        return NA;
    gtab *t;
    int rc = replace_table(g, ti, &t);
    if (rc < 0)
        return rc;
    if (kind == MO_GEN_OP_ADD_COLUMN) {
        static const char *const types[] = {"int32", "varchar(32)", "decimal64(10,2)", "datetime"};
        const char *ts = types[rndn(g, 4)];
        mo_obj_type ty;
        char name[NAME_LEN];
        snprintf(name, sizeof(name), "c%u", ++g->seq);
        if ((rc = mo_obj_type_parse(&ty, ts, strlen(ts), g->err)) < 0 ||
            (rc = add_col(g, t, name, &ty, false)) < 0)
            return rc;
        t->cols[t->ncols - 1].born_k = t->next_k; /* existing rows: NULL */
    } else if (kind == MO_GEN_OP_DROP_COLUMN) {
        const int ci = pick_col(g, t, droppable_col);
        if (ci < 0)
            return mo_err_set(g->err, MO_ERROR, "no droppable column");
        memmove(&t->cols[ci], &t->cols[ci + 1], (t->ncols - (uint32_t)ci - 1) * sizeof(*t->cols));
        t->ncols--;
        for (uint32_t j = 0; j < t->npk; j++)
            t->pk[j] -= t->pk[j] > ci;
        for (uint32_t x = 0; x < t->nidx; x++)
            t->idx[x].col -= t->idx[x].col > (uint32_t)ci;
    } else { /* MODIFY_TYPE: int -> bigint, varchar -> text, decimal(p,s) -> decimal(p+8,s) */
        const int ci = pick_col(g, t, retypable_col);
        gcol *c = &t->cols[ci];
        if (c->type.oid == MO_T_INT32) {
            c->type = mo_obj_type_default(MO_T_INT64);
        } else if (c->type.oid == MO_T_VARCHAR) {
            c->type = mo_obj_type_default(MO_T_TEXT);
        } else {
            c->type.oid = MO_T_DECIMAL128;
            c->type.width += 8;
        }
    }
    return rewrite_rows(g, t);
}

static int inplace_done(gen *g, gtab *t)
{
    int rc = table_reparse(g, t);
    return rc < 0 ? rc : put_table(g, t, false);
}

static int op_rename_table(gen *g)
{
    gtab *t = pick(g, NULL, NULL);
    if (!t)
        return NA;
    char base[40];
    snprintf(base, sizeof(base), "%.39s", t->name);
    char *u = strstr(base, "_r");
    if (u)
        *u = 0;
    snprintf(t->name, sizeof(t->name), "%s_r%u", base, ++g->seq);
    return inplace_done(g, t);
}

static int op_rename_column(gen *g)
{
    gtab *t = pick(g, NULL, NULL);
    if (!t)
        return NA;
    const int ci = pick_col(g, t, non_pk_col);
    if (ci < 0)
        return NA;
    char base[40];
    snprintf(base, sizeof(base), "%.39s", t->cols[ci].name);
    char *u = strstr(base, "_r");
    if (u)
        *u = 0;
    snprintf(t->cols[ci].name, sizeof(t->cols[ci].name), "%s_r%u", base, ++g->seq);
    return inplace_done(g, t);
}

static bool unindexed_col(const gtab *t, uint32_t i)
{
    return non_pk_col(t, i) && !indexed(t, i);
}

static bool can_add_index(const gen *g, const gtab *t)
{
    (void)g;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (unindexed_col(t, i))
            return true;
    return false;
}

static bool has_index(const gen *g, const gtab *t)
{
    (void)g;
    return t->nidx > 0;
}

static int op_add_index(gen *g)
{
    gtab *t = pick(g, can_add_index, NULL);
    if (!t)
        return NA;
    const int ci = pick_col(g, t, unindexed_col);
    gidx *n = mo_realloc(t->idx, (t->nidx + 1) * sizeof(*n));
    if (!n)
        return mo_err_set(g->err, MO_ENOMEM, "index");
    t->idx = n;
    memset(&t->idx[t->nidx], 0, sizeof(t->idx[t->nidx])); /* visible; realloc leaves garbage */
    snprintf(t->idx[t->nidx].name, NAME_LEN, "idx_%u", ++g->seq);
    t->idx[t->nidx++].col = (uint32_t)ci;
    return inplace_done(g, t);
}

static int op_index_visibility(gen *g)
{
    gtab *t = pick(g, has_index, NULL);
    if (!t)
        return NA;
    gidx *x = &t->idx[rndn(g, t->nidx)];
    x->invisible = !x->invisible;
    return inplace_done(g, t);
}

static int op_drop_index(gen *g)
{
    gtab *t = pick(g, has_index, NULL);
    if (!t)
        return NA;
    const uint32_t x = (uint32_t)rndn(g, t->nidx);
    memmove(&t->idx[x], &t->idx[x + 1], (t->nidx - x - 1) * sizeof(*t->idx));
    t->nidx--;
    return inplace_done(g, t);
}

static int op_comment(gen *g)
{
    gtab *t = pick(g, NULL, NULL);
    if (!t)
        return NA;
    snprintf(t->comment, sizeof(t->comment), "generated comment %u", ++g->seq);
    return inplace_done(g, t);
}

static bool nn_col(const gtab *t, uint32_t i)
{
    return non_pk_col(t, i) && t->cols[i].not_null;
}

static bool varchar_col(const gtab *t, uint32_t i)
{
    return non_pk_col(t, i) && t->cols[i].type.oid == MO_T_VARCHAR;
}

static bool dflt_col(const gtab *t, uint32_t i)
{
    const gcol *c = &t->cols[i];
    return non_pk_col(t, i) && !c->dflt[0] && (is_int(c->type.oid) || is_text(c->type.oid));
}

static bool any_col(const gtab *t, bool (*ok)(const gtab *, uint32_t))
{
    for (uint32_t i = 0; i < t->ncols; i++)
        if (ok(t, i))
            return true;
    return false;
}

static bool tab_nn(const gen *g, const gtab *t)
{
    (void)g;
    return any_col(t, nn_col);
}

static bool tab_varchar(const gen *g, const gtab *t)
{
    (void)g;
    return any_col(t, varchar_col);
}

static bool tab_dflt(const gen *g, const gtab *t)
{
    (void)g;
    return any_col(t, dflt_col);
}

/* In-place MODIFY (stored rows unchanged): drop NOT NULL, widen VARCHAR or set a default, in
 * turn from one such step to the next (so that a script of three covers all three). */
static int op_modify_inplace(gen *g)
{
    static bool (*const cols[3])(const gtab *, uint32_t) = {nn_col, varchar_col, dflt_col};
    static const tab_pred tabs[3] = {tab_nn, tab_varchar, tab_dflt};
    const unsigned first = g->modify_seq++ % 3;
    for (unsigned k = 0; k < 3; k++) {
        const unsigned v = (first + k) % 3;
        gtab *t = pick(g, tabs[v], NULL);
        const int ci = t ? pick_col(g, t, cols[v]) : -1;
        if (ci < 0)
            continue;
        gcol *c = &t->cols[ci];
        if (v == 0)
            c->not_null = 0;
        else if (v == 1)
            c->type.width += 16;
        else
            snprintf(c->dflt, sizeof(c->dflt), "%s", is_int(c->type.oid) ? "0" : "'none'");
        return inplace_done(g, t);
    }
    return NA;
}

static int op_create_table(gen *g)
{
    char name[NAME_LEN];
    snprintf(name, sizeof(name), "t%u", ++g->seq);
    return create_table(g, g->db0, g->dbs[0].id, name, NULL, 200 + rndn(g, 1500), 0.1);
}

static int drop_tab(gen *g, size_t i)
{
    gtab *t = g->tabs[i];
    int rc = kill_all(g, t);
    if (rc == MO_OK && (rc = put_table(g, t, true)) == MO_OK)
        tabs_remove(g, i);
    return rc;
}

static bool droppable_tab(const gen *g, const gtab *t)
{
    if (strcmp(t->db, g->db0))
        return true;
    size_t n = 0;
    for (size_t i = 0; i < g->ntabs; i++)
        n += !strcmp(g->tabs[i]->db, g->db0);
    return n > 1;
}

static int op_drop_table(gen *g)
{
    size_t ti;
    return pick(g, droppable_tab, &ti) ? drop_tab(g, ti) : NA;
}

static int put_db(gen *g, const gdb *d, bool dropped)
{
    mo_cat_db cd;
    memset(&cd, 0, sizeof(cd));
    cd.down_id = cd.up_id = d->id;
    snprintf(cd.name, sizeof(cd.name), "%s", d->name);
    cd.created_ts = d->created_ts;
    if (dropped)
        cd.dropped_ts = g->ts;
    return mo_cat_put_db(g->txn, &cd, g->err);
}

static int add_db(gen *g, const char *name, gdb **out)
{
    gdb *n = mo_realloc(g->dbs, (g->ndbs + 1) * sizeof(*n));
    if (!n)
        return mo_err_set(g->err, MO_ENOMEM, "databases");
    g->dbs = n;
    gdb *d = &g->dbs[g->ndbs];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->created_ts = g->ts;
    int rc = mo_cat_next_id(g->txn, "db", &d->id, g->err);
    if (rc == MO_OK && (rc = put_db(g, d, false)) == MO_OK) {
        g->ndbs++;
        *out = d;
    }
    return rc;
}

static int op_create_db(gen *g)
{
    char name[NAME_LEN], tn[NAME_LEN];
    snprintf(name, sizeof(name), "%.40s_%u", g->db0, ++g->seq);
    snprintf(tn, sizeof(tn), "t%u", ++g->seq);
    gdb *d;
    int rc = add_db(g, name, &d);
    if (rc < 0)
        return rc;
    const uint64_t id = d->id;
    return create_table(g, name, id, tn, NULL, 100 + rndn(g, 800), 0.1);
}

static int op_drop_db(gen *g)
{
    if (g->ndbs < 2)
        return NA;
    const size_t di = 1 + rndn(g, g->ndbs - 1);
    int rc = MO_OK;
    for (size_t i = g->ntabs; i-- > 0 && rc == MO_OK;)
        if (!strcmp(g->tabs[i]->db, g->dbs[di].name))
            rc = drop_tab(g, i);
    if (rc == MO_OK && (rc = put_db(g, &g->dbs[di], true)) == MO_OK) {
        memmove(&g->dbs[di], &g->dbs[di + 1], (g->ndbs - di - 1) * sizeof(*g->dbs));
        g->ndbs--;
    }
    return rc;
}

static int run_op(gen *g, int op)
{
    int rc;
    switch (op) {
    case MO_GEN_OP_INSERT: rc = op_insert(g); break;
    case MO_GEN_OP_DELETE: rc = op_delete(g); break;
    case MO_GEN_OP_MERGE: rc = op_merge(g); break;
    case MO_GEN_OP_APPEND: rc = op_append(g); break;
    case MO_GEN_OP_TRUNCATE: rc = op_truncate(g); break;
    case MO_GEN_OP_ADD_COLUMN: case MO_GEN_OP_DROP_COLUMN: case MO_GEN_OP_MODIFY_TYPE:
        rc = op_copy_alter(g, op);
        break;
    case MO_GEN_OP_RENAME_TABLE: rc = op_rename_table(g); break;
    case MO_GEN_OP_RENAME_COLUMN: rc = op_rename_column(g); break;
    case MO_GEN_OP_ADD_INDEX: rc = op_add_index(g); break;
    case MO_GEN_OP_INDEX_VISIBILITY: rc = op_index_visibility(g); break;
    case MO_GEN_OP_DROP_INDEX: rc = op_drop_index(g); break;
    case MO_GEN_OP_COMMENT: rc = op_comment(g); break;
    case MO_GEN_OP_MODIFY_INPLACE: rc = op_modify_inplace(g); break;
    case MO_GEN_OP_CREATE_TABLE: rc = op_create_table(g); break;
    case MO_GEN_OP_DROP_TABLE: rc = op_drop_table(g); break;
    case MO_GEN_OP_CREATE_DB: rc = op_create_db(g); break;
    case MO_GEN_OP_DROP_DB: rc = op_drop_db(g); break;
    default: rc = MO_EINVAL;
    }
    if (rc == MO_OK && g->rep)
        g->rep->ops[op]++;
    if (rc < 0)
        mo_err_prefix(g->err, "step %u %s: ", g->step, op_names[op]);
    return rc < 0 ? rc : MO_OK;
}

/* ---------------- hidden index tables ---------------- */

/* Each secondary index of a table lives in a hidden table `__mo_index_secondary_<uuid>` whose
 * objects the object list carries with the parent's (ccpr-protocol.md §3.8). The generator
 * keeps them derived: at every step end an index table whose parent's visible rows changed
 * is rebuilt as one sorted CN object (the old one deleted, as a merge would); TRUNCATE and
 * copy ALTERs give the new table id new index tables, DROP INDEX / DROP TABLE drop them.
 * They have no ground-truth entry: `mosync checksum` compares them across replicas. */

static const gtab *find_tab_id(const gen *g, uint64_t id)
{
    for (size_t i = 0; i < g->ntabs; i++)
        if (g->tabs[i]->id == id)
            return g->tabs[i];
    return NULL;
}

static int ixt_drop(gen *g, size_t i)
{
    gtab *t = g->ixts[i];
    int rc = kill_all(g, t);
    if (rc == MO_OK)
        rc = put_table(g, t, true);
    if (rc == MO_OK) {
        tab_free(t);
        memmove(&g->ixts[i], &g->ixts[i + 1], (g->nixts - i - 1) * sizeof(*g->ixts));
        g->nixts--;
    }
    return rc;
}

static int ixt_create(gen *g, const gtab *p, const gidx *x)
{
    mo_obj_objectid u;
    new_objid(g, &u);
    char uuid[37], name[NAME_LEN];
    mo_obj_uuid_format(uuid, u.seg);
    snprintf(name, sizeof(name), "__mo_index_secondary_%s", uuid);
    gtab *t = tab_new(g, p->db, p->db_id, name);
    if (!t)
        return MO_ENOMEM;
    t->ix_parent = p->id;
    snprintf(t->ix_index, sizeof(t->ix_index), "%s", x->name);
    int rc = mo_cat_index_table_make(&t->cat, &p->cat, p->id, name, x->name, name, g->err);
    if (rc == MO_OK)
        rc = mo_cat_next_id(g->txn, "table", &t->id, g->err);
    if (rc == MO_OK)
        rc = put_table(g, t, false);
    gtab **n = rc == MO_OK ? mo_realloc(g->ixts, (g->nixts + 1) * sizeof(*n)) : NULL;
    if (rc == MO_OK && !n)
        rc = mo_err_set(g->err, MO_ENOMEM, "index tables");
    if (rc < 0) {
        tab_free(t);
        return rc;
    }
    g->ixts = n;
    g->ixts[g->nixts++] = t;
    return MO_OK;
}

typedef struct ixrow {
    int64_t k;
    uint32_t n;
    uint8_t key[VMAX];
} ixrow;

static int cmp_ixrow(const void *a, const void *b)
{
    const ixrow *x = *(const ixrow *const *)a, *y = *(const ixrow *const *)b;
    const int c = memcmp(x->key, y->key, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* One sorted object of the index rows of the parent's rows visible now. */
static int ixt_build(gen *g, gtab *t)
{
    const gtab *p = t->ix_par;
    int rc = kill_all(g, t);
    t->nobjs = 0; /* nothing points into an index table's dead objects */
    size_t n = 0;
    for (size_t r = 0; r < p->nrows; r++)
        n += p->rows[r].cts <= g->ts.physical;
    if (rc < 0 || !n)
        return rc;
    ixrow *rows = mo_malloc(n * sizeof(*rows));
    ixrow **ord = mo_malloc(n * sizeof(*ord));
    wrow *w = mo_malloc(n * sizeof(*w));
    if (!rows || !ord || !w) {
        rc = mo_err_set(g->err, MO_ENOMEM, "index rows: %zu", n);
        goto out;
    }
    n = 0;
    for (size_t r = 0; r < p->nrows; r++)
        if (p->rows[r].cts <= g->ts.physical) {
            rows[n].k = p->rows[r].k;
            ix_value(t, 0, rows[n].k, rows[n].key, &rows[n].n);
            ord[n] = &rows[n];
            n++;
        }
    qsort(ord, n, sizeof(*ord), cmp_ixrow);
    for (size_t i = 0; i < n; i++)
        w[i] = (wrow){ord[i]->k, 0, 0};
    uint32_t oi;
    rc = write_data(g, t, K_DATA, w, (uint32_t)n, MO_OBJ_STATS_SORTED | MO_OBJ_STATS_CNCREATED, 0,
                    &oi);
out:
    mo_free(rows);
    mo_free(ord);
    mo_free(w);
    return rc;
}

/* What an index table is built from: the parent's visible rows and the indexed column. */
static uint64_t ixt_sig(const gen *g, const gtab *t)
{
    const gtab *p = t->ix_par;
    uint64_t n = 0, sum = 0, x = 0;
    for (size_t r = 0; r < p->nrows; r++)
        if (p->rows[r].cts <= g->ts.physical) {
            n++;
            sum += p->rows[r].h;
            x ^= p->rows[r].h;
        }
    return mix64(n ^ mix64(sum ^ mix64(x ^ mix64(p->cols[t->ix_col].gid + 1))));
}

static int index_tables_step(gen *g)
{
    int rc = MO_OK;
    for (size_t i = g->nixts; i-- > 0 && rc == MO_OK;) {
        gtab *t = g->ixts[i];
        const gtab *p = find_tab_id(g, t->ix_parent);
        const gidx *x = NULL;
        for (uint32_t j = 0; p && j < p->nidx && !x; j++)
            if (!strcmp(p->idx[j].name, t->ix_index))
                x = &p->idx[j];
        if (!x) {
            rc = ixt_drop(g, i);
            continue;
        }
        t->ix_par = p;
        t->ix_col = x->col;
    }
    for (size_t i = 0; i < g->ntabs && rc == MO_OK; i++) {
        const gtab *p = g->tabs[i];
        for (uint32_t j = 0; j < p->nidx && rc == MO_OK; j++) {
            bool have = false;
            for (size_t k = 0; k < g->nixts && !have; k++)
                have = g->ixts[k]->ix_parent == p->id && !strcmp(g->ixts[k]->ix_index, p->idx[j].name);
            if (!have && (rc = ixt_create(g, p, &p->idx[j])) == MO_OK) {
                g->ixts[g->nixts - 1]->ix_par = p;
                g->ixts[g->nixts - 1]->ix_col = p->idx[j].col;
            }
        }
    }
    for (size_t i = 0; i < g->nixts && rc == MO_OK; i++) {
        gtab *t = g->ixts[i];
        const uint64_t sig = ixt_sig(g, t);
        if (sig != t->ix_sig && (rc = ixt_build(g, t)) == MO_OK)
            t->ix_sig = sig;
    }
    return rc;
}

/* ---------------- files: state and truth ---------------- */

static int file_write(const char *path, const char magic[8], uint32_t version, const mo_buf *pl,
                      mo_err *err)
{
    mo_buf b = MO_BUF_INIT;
    int rc = mo_buf_put(&b, magic, 8);
    if (rc == MO_OK)
        rc = mo_buf_put_le32(&b, version);
    if (rc == MO_OK)
        rc = mo_buf_put_le32(&b, 0);
    if (rc == MO_OK)
        rc = mo_buf_put_le64(&b, pl->len);
    if (rc == MO_OK)
        rc = mo_buf_put(&b, pl->ptr, pl->len);
    if (rc == MO_OK)
        rc = mo_buf_put_le64(&b, mo_xxh64(b.ptr, b.len));
    if (rc < 0)
        rc = mo_err_set(err, MO_ENOMEM, "%s: encoding", path);
    else
        rc = mo_sys_write_file_atomic(path, b.ptr, b.len, err);
    mo_buf_dispose(&b);
    return rc;
}

/* Reads and checks the framing; the payload points into *data (caller frees *data). */
static int file_read(const char *path, const char magic[8], uint32_t version, uint8_t **data,
                     const uint8_t **payload, size_t *plen, mo_err *err)
{
    size_t len;
    int rc = mo_sys_read_file(data, &len, path, err);
    if (rc < 0)
        return rc;
    if (len < FILE_HDR + 8 || memcmp(*data, magic, 8))
        rc = mo_err_set(err, MO_ECORRUPT, "%s: not a generator file", path);
    else if (mo_load_le32(*data + 8) != version)
        rc = mo_err_set(err, MO_EVERSION, "%s: version %u (want %u)", path,
                        mo_load_le32(*data + 8), version);
    else if (mo_load_le64(*data + 16) != len - FILE_HDR - 8)
        rc = mo_err_set(err, MO_ECORRUPT, "%s: length %" PRIu64 " for %zu bytes", path,
                        mo_load_le64(*data + 16), len);
    else if (mo_load_le64(*data + len - 8) != mo_xxh64(*data, len - 8) ||
             !mo_load_le64(*data + len - 8))
        rc = mo_err_set(err, MO_ECHECKSUM, "%s: checksum mismatch", path);
    if (rc < 0) {
        mo_free(*data);
        *data = NULL;
        return rc;
    }
    *payload = *data + FILE_HDR;
    *plen = len - FILE_HDR - 8;
    return MO_OK;
}

static int gen_path(char *out, size_t cap, const char *dir, const char *leaf)
{
    return (size_t)snprintf(out, cap, "%s/.mosync/gen%s%s", dir, leaf ? "/" : "", leaf ? leaf : "") <
                   cap
               ? MO_OK
               : MO_EINVAL;
}

/* serialization helpers: P* append (rc accumulates), G* read (false = short) */
#define P8(v) rc = rc ? rc : mo_buf_put_u8(b, (uint8_t)(v))
#define P32(v) rc = rc ? rc : mo_buf_put_le32(b, (uint32_t)(v))
#define P64(v) rc = rc ? rc : mo_buf_put_le64(b, (uint64_t)(v))
#define PRAW(p, n) rc = rc ? rc : mo_buf_put(b, (p), (n))
#define PSTR(s)                                                                                    \
    do {                                                                                           \
        const size_t l_ = strlen(s);                                                               \
        P32(l_);                                                                                   \
        PRAW(s, l_);                                                                               \
    } while (0)

static int ser_type(mo_buf *b, const mo_obj_type *t)
{
    int rc = MO_OK;
    P8(t->oid);
    P8(t->charset);
    P8(t->not_null);
    P32(t->size);
    P32(t->width);
    P32(t->scale);
    return rc;
}

static int ser_objs(mo_buf *b, const gtab *t)
{
    int rc = MO_OK;
    P64(t->nobjs);
    for (size_t o = 0; o < t->nobjs; o++) {
        const gobj *x = &t->objs[o];
        uint8_t id[MO_OBJ_OBJECTID_LEN];
        mo_obj_objectid_encode(id, &x->id);
        PRAW(id, sizeof(id));
        P8(x->kind);
        P8(x->live);
        P8(x->level);
        P8(x->ntgt);
        for (uint32_t j = 0; j < x->ntgt; j++)
            P32(x->tgt[j]);
        PRAW(x->stats, MO_OBJ_STATS_LEN);
        P64(x->digest.lo);
        P64(x->digest.hi);
        P64(x->create_ts.physical);
        P32(x->create_ts.logical);
    }
    return rc;
}

static int ser_state(const gen *g, mo_buf *b)
{
    int rc = MO_OK;
    P64(g->rng);
    P32(g->step);
    P64(g->last_ts);
    P64((uint64_t)(g->ashare * 1e9));
    P32(g->seq);
    P32(g->gid_seq);
    P32(g->modify_seq);
    PSTR(g->db0);
    P64(g->ndbs);
    for (size_t i = 0; i < g->ndbs; i++) {
        P64(g->dbs[i].id);
        PSTR(g->dbs[i].name);
        P64(g->dbs[i].created_ts.physical);
        P32(g->dbs[i].created_ts.logical);
    }
    P64(g->ntabs);
    for (size_t i = 0; i < g->ntabs; i++) {
        const gtab *t = g->tabs[i];
        P64(t->id);
        P64(t->db_id);
        PSTR(t->db);
        PSTR(t->name);
        P64(t->tseed);
        P64(t->created_ts.physical);
        P32(t->created_ts.logical);
        PSTR(t->comment);
        P64(t->next_k);
        P32(t->ncols);
        for (uint32_t c = 0; c < t->ncols && rc == MO_OK; c++) {
            const gcol *x = &t->cols[c];
            PSTR(x->name);
            rc = rc ? rc : ser_type(b, &x->type);
            P8(x->dom);
            P32(x->dom_w);
            P32(x->dom_s);
            P32(x->gid);
            P64(x->born_k);
            P8(x->not_null);
            PSTR(x->dflt);
        }
        P32(t->npk);
        for (uint32_t j = 0; j < t->npk; j++) {
            P32(t->pk[j]);
            P32(t->radix[j]);
        }
        P32(t->nidx);
        for (uint32_t x = 0; x < t->nidx; x++) {
            PSTR(t->idx[x].name);
            P32(t->idx[x].col);
            P8(t->idx[x].invisible);
        }
        P64(t->nrows);
        for (size_t r = 0; r < t->nrows; r++) {
            const grow *x = &t->rows[r];
            P64(x->k);
            P64(x->h);
            P64(x->cts);
            P32(x->obj);
            P32(x->blk);
            P32(x->row);
        }
        rc = rc ? rc : ser_objs(b, t);
    }
    P64(g->nixts);
    for (size_t i = 0; i < g->nixts; i++) {
        const gtab *t = g->ixts[i];
        P64(t->id);
        P64(t->db_id);
        PSTR(t->db);
        PSTR(t->name);
        P64(t->created_ts.physical);
        P32(t->created_ts.logical);
        P64(t->ix_parent);
        PSTR(t->ix_index);
        P64(t->ix_sig);
        rc = rc ? rc : ser_objs(b, t);
    }
    return rc;
}

static bool g8(mo_cur *c, uint8_t *v)
{
    return mo_cur_u8(c, v);
}
static bool g32(mo_cur *c, uint32_t *v)
{
    return mo_cur_le32(c, v);
}
static bool g64(mo_cur *c, uint64_t *v)
{
    return mo_cur_le64(c, v);
}
static bool gi64(mo_cur *c, int64_t *v)
{
    uint64_t u;
    if (!mo_cur_le64(c, &u))
        return false;
    *v = (int64_t)u;
    return true;
}
static bool gstr(mo_cur *c, char *out, size_t cap)
{
    uint32_t n;
    const uint8_t *p;
    if (!mo_cur_le32(c, &n) || n >= cap || !mo_cur_take(c, n, &p) || memchr(p, 0, n))
        return false;
    memcpy(out, p, n);
    out[n] = 0;
    return true;
}
static bool gts(mo_cur *c, mo_obj_ts *ts)
{
    return gi64(c, &ts->physical) && g32(c, &ts->logical);
}
static bool gtype(mo_cur *c, mo_obj_type *t)
{
    uint32_t a, b2, d;
    if (!g8(c, &t->oid) || !g8(c, &t->charset) || !g8(c, &t->not_null) || !g32(c, &a) ||
        !g32(c, &b2) || !g32(c, &d))
        return false;
    t->size = (int32_t)a;
    t->width = (int32_t)b2;
    t->scale = (int32_t)d;
    return true;
}

#define BAD                                                                                        \
    do {                                                                                           \
        rc = mo_err_set(g->err, MO_ECORRUPT, "generator state: malformed at byte %zu", c->pos);    \
        goto out;                                                                                  \
    } while (0)
#define G(x)                                                                                       \
    do {                                                                                           \
        if (!(x))                                                                                  \
            BAD;                                                                                   \
    } while (0)

static int de_objs(gen *g, mo_cur *c, gtab *t)
{
    int rc = MO_OK;
    uint64_t n;
    G(g64(c, &n) && n <= mo_cur_left(c) / 200);
    if (n && !(t->objs = mo_calloc(n, sizeof(*t->objs))))
        return mo_err_set(g->err, MO_ENOMEM, "state objects");
    t->nobjs = t->capobjs = n;
    for (size_t o = 0; o < n; o++) {
        gobj *x = &t->objs[o];
        const uint8_t *id;
        G(mo_cur_take(c, MO_OBJ_OBJECTID_LEN, &id));
        mo_obj_objectid_decode(&x->id, id);
        G(g8(c, &x->kind) && x->kind <= K_TOMB && g8(c, &x->live) && g8(c, &x->level) &&
          g8(c, &x->ntgt) && x->ntgt <= MAX_TGT);
        for (uint32_t j = 0; j < x->ntgt; j++)
            G(g32(c, &x->tgt[j]) && x->tgt[j] < n);
        const uint8_t *st;
        G(mo_cur_take(c, MO_OBJ_STATS_LEN, &st));
        memcpy(x->stats, st, MO_OBJ_STATS_LEN);
        G(g64(c, &x->digest.lo) && g64(c, &x->digest.hi) && gts(c, &x->create_ts));
    }
out:
    return rc;
}

/* An index table's state; its schema is derived again from the parent's. */
static int de_ixt(gen *g, mo_cur *c, gtab *t)
{
    int rc = MO_OK;
    G(g64(c, &t->id) && g64(c, &t->db_id) && gstr(c, t->db, sizeof(t->db)) &&
      gstr(c, t->name, sizeof(t->name)) && gts(c, &t->created_ts) && g64(c, &t->ix_parent) &&
      gstr(c, t->ix_index, sizeof(t->ix_index)) && g64(c, &t->ix_sig));
    if ((rc = de_objs(g, c, t)) < 0)
        return rc;
    const gtab *p = find_tab_id(g, t->ix_parent);
    if (!p)
        BAD;
    rc = mo_cat_index_table_make(&t->cat, &p->cat, p->id, t->name, t->ix_index, t->name, g->err);
out:
    return rc;
}

static int de_table(gen *g, mo_cur *c, gtab *t)
{
    int rc = MO_OK;
    uint64_t n;
    uint32_t ncols, npk, nidx;
    G(g64(c, &t->id) && g64(c, &t->db_id) && gstr(c, t->db, sizeof(t->db)) &&
      gstr(c, t->name, sizeof(t->name)) && g64(c, &t->tseed) && gts(c, &t->created_ts) &&
      gstr(c, t->comment, sizeof(t->comment)) && gi64(c, &t->next_k) && g32(c, &ncols));
    if (ncols == 0 || ncols > 4096 || (uint64_t)ncols * 40 > mo_cur_left(c))
        BAD;
    if (!(t->cols = mo_calloc(ncols, sizeof(*t->cols))))
        return mo_err_set(g->err, MO_ENOMEM, "state columns");
    t->ncols = ncols;
    for (uint32_t i = 0; i < ncols; i++) {
        gcol *x = &t->cols[i];
        uint32_t w, s;
        G(gstr(c, x->name, sizeof(x->name)) && gtype(c, &x->type) && g8(c, &x->dom) &&
          g32(c, &w) && g32(c, &s) && g32(c, &x->gid) && gi64(c, &x->born_k) &&
          g8(c, &x->not_null) && gstr(c, x->dflt, sizeof(x->dflt)));
        x->dom_w = (int32_t)w;
        x->dom_s = (int32_t)s;
    }
    G(g32(c, &npk) && npk <= MAX_PK);
    t->npk = npk;
    for (uint32_t j = 0; j < npk; j++) {
        uint32_t p;
        G(g32(c, &p) && p < ncols && g32(c, &t->radix[j]));
        t->pk[j] = (int32_t)p;
        if (j > 0 && !t->radix[j])
            BAD;
    }
    G(g32(c, &nidx) && (uint64_t)nidx * 8 <= mo_cur_left(c));
    if (nidx && !(t->idx = mo_calloc(nidx, sizeof(*t->idx))))
        return mo_err_set(g->err, MO_ENOMEM, "state indexes");
    t->nidx = nidx;
    for (uint32_t x = 0; x < nidx; x++)
        G(gstr(c, t->idx[x].name, NAME_LEN) && g32(c, &t->idx[x].col) && t->idx[x].col < ncols &&
          g8(c, &t->idx[x].invisible) && t->idx[x].invisible <= 1);
    G(g64(c, &n) && n <= mo_cur_left(c) / 36);
    if (n && !(t->rows = mo_malloc(n * sizeof(*t->rows))))
        return mo_err_set(g->err, MO_ENOMEM, "state rows");
    t->nrows = t->caprows = n;
    for (size_t r = 0; r < n; r++) {
        grow *x = &t->rows[r];
        uint32_t blk;
        G(gi64(c, &x->k) && g64(c, &x->h) && gi64(c, &x->cts) && g32(c, &x->obj) &&
          g32(c, &blk) && g32(c, &x->row) && blk <= UINT16_MAX);
        x->blk = (uint16_t)blk;
    }
    if ((rc = de_objs(g, c, t)) < 0)
        return rc;
    for (size_t r = 0; r < t->nrows; r++)
        if (t->rows[r].obj >= t->nobjs)
            BAD;
    rc = table_reparse(g, t);
out:
    return rc;
}

static int de_state(gen *g, mo_cur *c)
{
    int rc = MO_OK;
    uint64_t ash, n;
    G(g64(c, &g->rng) && g32(c, &g->step) && gi64(c, &g->last_ts) && g64(c, &ash) &&
      g32(c, &g->seq) && g32(c, &g->gid_seq) && g32(c, &g->modify_seq) && gstr(c, g->db0, sizeof(g->db0)) && g64(c, &n) &&
      n >= 1 && n <= 65536);
    g->ashare = (double)ash / 1e9;
    if (!(g->dbs = mo_calloc(n, sizeof(*g->dbs))))
        return mo_err_set(g->err, MO_ENOMEM, "state");
    for (size_t i = 0; i < n; i++)
        G(g64(c, &g->dbs[i].id) && gstr(c, g->dbs[i].name, NAME_LEN) &&
          gts(c, &g->dbs[i].created_ts));
    g->ndbs = n;
    G(g64(c, &n) && n <= 65536);
    for (size_t i = 0; i < n; i++) {
        gtab *t = mo_calloc(1, sizeof(*t));
        if (!t)
            return mo_err_set(g->err, MO_ENOMEM, "state");
        t->cat.pk_col = t->cat.sort_col = -1;
        if ((rc = tabs_add(g, t)) < 0) {
            tab_free(t);
            return rc;
        }
        if ((rc = de_table(g, c, t)) < 0)
            return rc;
    }
    G(g64(c, &n) && n <= 65536);
    if (n && !(g->ixts = mo_calloc(n, sizeof(*g->ixts))))
        return mo_err_set(g->err, MO_ENOMEM, "state");
    for (size_t i = 0; i < n; i++) {
        gtab *t = mo_calloc(1, sizeof(*t));
        if (!t)
            return mo_err_set(g->err, MO_ENOMEM, "state");
        t->cat.pk_col = t->cat.sort_col = -1;
        g->ixts[g->nixts++] = t;
        if ((rc = de_ixt(g, c, t)) < 0)
            return rc;
    }
    if (mo_cur_left(c))
        BAD;
out:
    return rc;
}

static int ser_truth(const mo_gen_truth *tr, mo_buf *b)
{
    int rc = MO_OK;
    P32(tr->nsteps);
    for (uint32_t i = 0; i < tr->nsteps; i++) {
        const mo_gen_truth_step *s = &tr->steps[i];
        P32(s->step);
        PSTR(s->snapshot);
        P64(s->ts.physical);
        P32(s->ts.logical);
        P32(s->ntables);
        for (uint32_t j = 0; j < s->ntables; j++) {
            const mo_gen_truth_table *t = &s->tables[j];
            P64(t->table_id);
            P64(t->db_id);
            PSTR(t->db);
            PSTR(t->name);
            P64(t->rows);
            P64(t->sum);
            P64(t->xor_);
            PSTR(t->create_sql);
        }
    }
    return rc;
}

void mo_gen_truth_dispose(mo_gen_truth *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->nsteps; i++) {
        for (uint32_t j = 0; j < t->steps[i].ntables; j++)
            mo_free(t->steps[i].tables[j].create_sql);
        mo_free(t->steps[i].tables);
    }
    mo_free(t->steps);
    memset(t, 0, sizeof(*t));
}

#undef BAD
#define BAD                                                                                        \
    do {                                                                                           \
        rc = mo_err_set(err, MO_ECORRUPT, "generator truth: malformed at byte %zu", c.pos);        \
        goto out;                                                                                  \
    } while (0)
#undef G
#define G(x)                                                                                       \
    do {                                                                                           \
        if (!(x))                                                                                  \
            BAD;                                                                                   \
    } while (0)

int mo_gen_truth_load(mo_gen_truth *out, const char *dir, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    char path[4200];
    if (gen_path(path, sizeof(path), dir, "truth") < 0)
        return mo_err_set(err, MO_EINVAL, "%s: path too long", dir);
    struct stat st;
    if (stat(path, &st) < 0)
        return mo_err_sys(err, MO_ENOTFOUND, errno, "%s: no generator truth", path);
    uint8_t *data;
    const uint8_t *pl;
    size_t plen;
    int rc = file_read(path, "MOGENTRU", TRUTH_VERSION, &data, &pl, &plen, err);
    if (rc < 0)
        return rc;
    mo_cur c;
    mo_cur_init(&c, pl, plen);
    uint32_t n;
    G(g32(&c, &n) && (uint64_t)n * 24 <= mo_cur_left(&c));
    if (n && !(out->steps = mo_calloc(n, sizeof(*out->steps)))) {
        rc = mo_err_set(err, MO_ENOMEM, "truth");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        mo_gen_truth_step *s = &out->steps[i];
        out->nsteps = i + 1;
        uint32_t nt;
        G(g32(&c, &s->step) && gstr(&c, s->snapshot, sizeof(s->snapshot)) && gts(&c, &s->ts) &&
          g32(&c, &nt) && (uint64_t)nt * 52 <= mo_cur_left(&c));
        if (nt && !(s->tables = mo_calloc(nt, sizeof(*s->tables)))) {
            rc = mo_err_set(err, MO_ENOMEM, "truth");
            goto out;
        }
        for (uint32_t j = 0; j < nt; j++) {
            mo_gen_truth_table *t = &s->tables[j];
            s->ntables = j + 1;
            uint32_t sl;
            const uint8_t *sp;
            G(g64(&c, &t->table_id) && g64(&c, &t->db_id) && gstr(&c, t->db, sizeof(t->db)) &&
              gstr(&c, t->name, sizeof(t->name)) && g64(&c, &t->rows) && g64(&c, &t->sum) &&
              g64(&c, &t->xor_) && g32(&c, &sl) && mo_cur_take(&c, sl, &sp) && !memchr(sp, 0, sl));
            if (!(t->create_sql = mo_malloc((size_t)sl + 1))) {
                rc = mo_err_set(err, MO_ENOMEM, "truth");
                goto out;
            }
            memcpy(t->create_sql, sp, sl);
            t->create_sql[sl] = 0;
        }
    }
    if (mo_cur_left(&c))
        BAD;
out:
    mo_free(data);
    if (rc < 0)
        mo_gen_truth_dispose(out);
    return rc;
}

#undef BAD
#undef G

/* ---------------- steps ---------------- */

static int save_files(gen *g)
{
    char path[4200];
    mo_buf b = MO_BUF_INIT;
    int rc = ser_truth(&g->truth, &b);
    if (rc < 0)
        rc = mo_err_set(g->err, MO_ENOMEM, "truth encoding");
    if (rc == MO_OK && gen_path(path, sizeof(path), g->dir, "truth") < 0)
        rc = mo_err_set(g->err, MO_EINVAL, "path too long");
    if (rc == MO_OK)
        rc = file_write(path, "MOGENTRU", TRUTH_VERSION, &b, g->err);
    b.len = 0;
    if (rc == MO_OK && ser_state(g, &b) < 0)
        rc = mo_err_set(g->err, MO_ENOMEM, "state encoding");
    if (rc == MO_OK && gen_path(path, sizeof(path), g->dir, "state") < 0)
        rc = mo_err_set(g->err, MO_EINVAL, "path too long");
    if (rc == MO_OK)
        rc = file_write(path, "MOGENSTA", STATE_VERSION, &b, g->err);
    mo_buf_dispose(&b);
    return rc;
}

static int step_begin(gen *g)
{
    int64_t ts = g->last_ts + STEP_NS;
    if (g->realtime) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        const int64_t w = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        ts = w > ts ? w : ts;
    }
    g->step++;
    g->ts = (mo_obj_ts){ts, 0};
    return mo_cat_begin(g->cat, &g->txn, g->err);
}

/* Truth of every live table at this step's TS, the snapshot, the commit, then the files. */
static int step_end(gen *g)
{
    int rc = index_tables_step(g);
    if (rc < 0)
        goto fail;
    mo_gen_truth_step *ns = mo_realloc(g->truth.steps, (g->truth.nsteps + 1) * sizeof(*ns));
    if (!ns) {
        rc = mo_err_set(g->err, MO_ENOMEM, "truth");
        goto fail;
    }
    g->truth.steps = ns;
    mo_gen_truth_step *s = &ns[g->truth.nsteps];
    memset(s, 0, sizeof(*s));
    s->step = g->step;
    s->ts = g->ts;
    snprintf(s->snapshot, sizeof(s->snapshot), "gen_%u", g->step);
    if (g->ntabs && !(s->tables = mo_calloc(g->ntabs, sizeof(*s->tables)))) {
        rc = mo_err_set(g->err, MO_ENOMEM, "truth");
        goto fail;
    }
    g->truth.nsteps++;
    for (size_t i = 0; i < g->ntabs; i++) {
        const gtab *t = g->tabs[i];
        mo_gen_truth_table *x = &s->tables[s->ntables];
        x->table_id = t->id;
        x->db_id = t->db_id;
        snprintf(x->db, sizeof(x->db), "%s", t->db);
        snprintf(x->name, sizeof(x->name), "%s", t->name);
        for (size_t r = 0; r < t->nrows; r++)
            if (t->rows[r].cts <= g->ts.physical) {
                x->rows++;
                x->sum += t->rows[r].h;
                x->xor_ ^= t->rows[r].h;
            }
        if (!(x->create_sql = mo_strdup(t->sql))) {
            rc = mo_err_set(g->err, MO_ENOMEM, "truth");
            goto fail;
        }
        s->ntables++;
    }
    mo_cat_snapshot snap;
    memset(&snap, 0, sizeof(snap));
    snprintf(snap.name, sizeof(snap.name), "%s", s->snapshot);
    snap.ts = g->ts;
    if ((rc = mo_cat_put_snapshot(g->txn, &snap, g->err)) < 0)
        goto fail;
    rc = mo_cat_commit(g->txn, g->err);
    g->txn = NULL;
    if (rc < 0)
        return rc;
    g->last_ts = g->ts.physical;
    if (g->rep) {
        if (!g->rep->first_step)
            g->rep->first_step = g->step;
        g->rep->last_step = g->step;
        g->rep->last_ts = g->ts;
    }
    return save_files(g);
fail:
    mo_cat_abort(g->txn);
    g->txn = NULL;
    return rc;
}

static void gen_dispose(gen *g)
{
    if (g->txn)
        mo_cat_abort(g->txn);
    mo_cat_close(g->cat);
    for (size_t i = 0; i < g->ntabs; i++)
        tab_free(g->tabs[i]);
    mo_free(g->tabs);
    for (size_t i = 0; i < g->nixts; i++)
        tab_free(g->ixts[i]);
    mo_free(g->ixts);
    mo_free(g->dbs);
    mo_gen_truth_dispose(&g->truth);
    mo_buf_dispose(&g->rb);
}

static int mkdir_p(const char *path, mo_err *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", path);
    return MO_OK;
}

int mo_gen_create(const char *dir, const mo_gen_opts *o, mo_gen_report *rep, mo_err *err)
{
    gen g;
    memset(&g, 0, sizeof(g));
    g.dir = dir;
    g.err = err;
    g.rep = rep;
    if (rep)
        memset(rep, 0, sizeof(*rep));
    if (!o->db || !o->db[0] || strlen(o->db) >= 40 || strchr(o->db, '`') || !o->ntables)
        return mo_err_set(err, MO_EINVAL, "gen: want a database name (< 40 chars) and tables");
    char path[4200];
    int rc;
    if (gen_path(path, sizeof(path), dir, NULL) < 0)
        return mo_err_set(err, MO_EINVAL, "%s: path too long", dir);
    char mo_dir[4200];
    snprintf(mo_dir, sizeof(mo_dir), "%s/.mosync", dir);
    if ((rc = mkdir_p(dir, err)) < 0 || (rc = mkdir_p(mo_dir, err)) < 0 ||
        (rc = mkdir_p(path, err)) < 0)
        return rc;
    char st_path[4200];
    gen_path(st_path, sizeof(st_path), dir, "state");
    struct stat st;
    if (stat(st_path, &st) == 0)
        return mo_err_set(err, MO_EEXISTS, "%s: already a generated upstream (use --mutate)", dir);
    g.rng = mix64(o->seed ? o->seed : 1);
    g.ashare = o->appendable_share < 0 ? 0.1 : o->appendable_share > 1 ? 1 : o->appendable_share;
    g.last_ts = (o->base_ts ? o->base_ts : DEFAULT_BASE);
    g.realtime = o->realtime;
    snprintf(g.db0, sizeof(g.db0), "%s", o->db);
    if ((rc = mo_cat_open(&g.cat, dir, MO_CAT_WRITE, NULL, err)) < 0)
        goto out;
    if ((rc = step_begin(&g)) < 0)
        goto out;
    gdb *d;
    if ((rc = add_db(&g, o->db, &d)) < 0)
        goto out;
    const uint64_t db_id = d->id;
    for (size_t i = 0; i < o->ntables && rc == MO_OK; i++)
        rc = create_table(&g, o->db, db_id, o->tables[i].name, o->tables[i].schema,
                          o->tables[i].rows, g.ashare);
    if (rc == MO_OK)
        rc = step_end(&g);
out:
    gen_dispose(&g);
    return rc;
}

static int load_state(gen *g)
{
    char path[4200];
    if (gen_path(path, sizeof(path), g->dir, "state") < 0)
        return mo_err_set(g->err, MO_EINVAL, "path too long");
    struct stat st;
    if (stat(path, &st) < 0)
        return mo_err_sys(g->err, MO_ENOTFOUND, errno, "%s: not a generated upstream", g->dir);
    uint8_t *data;
    const uint8_t *pl;
    size_t plen;
    int rc = file_read(path, "MOGENSTA", STATE_VERSION, &data, &pl, &plen, g->err);
    if (rc < 0)
        return rc;
    mo_cur c;
    mo_cur_init(&c, pl, plen);
    rc = de_state(g, &c);
    mo_free(data);
    if (rc == MO_OK)
        rc = mo_gen_truth_load(&g->truth, g->dir, g->err);
    return rc;
}

/* Loads the saved state and opens the catalog for writing: the start of every mutation. */
static int mutate_open(gen *g, const char *dir, uint64_t seed, bool realtime, mo_gen_report *rep,
                       mo_err *err)
{
    memset(g, 0, sizeof(*g));
    g->dir = dir;
    g->err = err;
    g->rep = rep;
    g->realtime = realtime;
    if (rep)
        memset(rep, 0, sizeof(*rep));
    int rc = load_state(g);
    if (rc < 0)
        return rc;
    g->rng = mix64(g->rng ^ mix64(seed ? seed : 1));
    return mo_cat_open(&g->cat, dir, MO_CAT_WRITE, NULL, err);
}

static int step_run(gen *g, const int *ops, size_t nops)
{
    int rc = step_begin(g);
    for (size_t i = 0; i < nops && rc == MO_OK; i++)
        rc = run_op(g, ops[i]);
    return rc == MO_OK ? step_end(g) : rc;
}

int mo_gen_mutate(const char *dir, unsigned steps, uint64_t seed, bool realtime,
                  mo_gen_report *rep, mo_err *err)
{
    gen g;
    int rc = mutate_open(&g, dir, seed, realtime, rep, err);
    for (unsigned s = 0; s < steps && rc == MO_OK; s++) {
        int ops[8], nops = 0;
        const bool forced = steps >= MO_GEN_OP_COUNT && s < MO_GEN_OP_COUNT;
        if (forced)
            ops[nops++] = (int)s;
        else if (rndn(&g, 4) == 0)
            ops[nops++] = MO_GEN_OP_TRUNCATE + (int)rndn(&g, MO_GEN_OP_COUNT - MO_GEN_OP_TRUNCATE);
        /* data operations, in the order deletes, merges, inserts, appends */
        static const int data_order[4] = {MO_GEN_OP_DELETE, MO_GEN_OP_MERGE, MO_GEN_OP_INSERT,
                                          MO_GEN_OP_APPEND};
        bool want[4] = {false, false, false, false};
        const unsigned nd = 1 + (unsigned)rndn(&g, 3);
        for (unsigned i = 0; i < nd; i++)
            want[rndn(&g, 4)] = true;
        for (int i = 0; i < 4 && !forced; i++) /* a forced step does only its operation */
            if (want[i])
                ops[nops++] = data_order[i];
        rc = step_run(&g, ops, (size_t)nops);
    }
    gen_dispose(&g);
    return rc;
}

int mo_gen_step(const char *dir, const int *ops, size_t nops, uint64_t seed, bool realtime,
                mo_gen_report *rep, mo_err *err)
{
    if (nops > 8)
        return mo_err_set(err, MO_EINVAL, "at most 8 operations in one step");
    for (size_t i = 0; i < nops; i++)
        if (ops[i] < 0 || ops[i] >= MO_GEN_OP_COUNT)
            return mo_err_set(err, MO_EINVAL, "unknown operation %d", ops[i]);
    gen g;
    int rc = mutate_open(&g, dir, seed, realtime, rep, err);
    if (rc == MO_OK)
        rc = step_run(&g, ops, nops);
    gen_dispose(&g);
    return rc;
}

int mo_gen_op_parse(const char *name)
{
    for (int i = 0; i < MO_GEN_OP_COUNT; i++)
        if (!strcmp(name, op_names[i]))
            return i;
    return -1;
}

/* ---------------- check ---------------- */

int mo_gen_check(const char *dir, mo_gen_check_cb cb, void *payload, uint64_t *mismatches_out,
                 mo_err *err)
{
    *mismatches_out = 0;
    mo_gen_truth tr;
    int rc = mo_gen_truth_load(&tr, dir, err);
    if (rc < 0)
        return rc;
    mo_cat *c = NULL;
    if ((rc = mo_cat_open(&c, dir, MO_CAT_READ, NULL, err)) < 0)
        goto out;
    for (uint32_t i = 0; i < tr.nsteps && rc == MO_OK; i++) {
        const mo_gen_truth_step *s = &tr.steps[i];
        mo_cat_snapshot snap;
        const bool snap_ok = mo_cat_get_snapshot(c, s->snapshot, &snap) == MO_OK &&
                             !mo_obj_ts_cmp(snap.ts, s->ts);
        for (uint32_t j = 0; j < s->ntables && rc == MO_OK; j++) {
            const mo_gen_truth_table *t = &s->tables[j];
            mo_cat_table ct;
            if ((rc = mo_cat_schema_parse(&ct, t->create_sql, err)) < 0) {
                mo_err_prefix(err, "truth step %u table %s: ", s->step, t->name);
                break;
            }
            ct.down_id = ct.up_id = t->table_id;
            mo_scan_result res;
            rc = mo_scan_table(&res, c, dir, &ct, &s->ts, NULL, NULL, err);
            mo_cat_table_dispose(&ct);
            if (rc < 0) {
                mo_err_prefix(err, "step %u table %s.%s: ", s->step, t->db, t->name);
                break;
            }
            mo_gen_check_item it;
            memset(&it, 0, sizeof(it));
            it.step = s;
            it.table = t;
            it.got.rows = res.rows;
            it.got.sum = res.sum;
            it.got.xor_ = res.xor_;
            it.ok = snap_ok && res.rows == t->rows && res.sum == t->sum && res.xor_ == t->xor_;
            *mismatches_out += !it.ok;
            if (cb && cb(&it, payload)) {
                rc = mo_err_set(err, MO_EUSER, "check stopped by the caller");
                break;
            }
        }
    }
out:
    mo_cat_close(c);
    mo_gen_truth_dispose(&tr);
    return rc;
}

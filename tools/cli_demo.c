/* `mosync demo`: the README's main job for now. Generates a sample set of objects of every
 * kind (sorted PK data, no-PK data with every type, appendable, tombstone, DISK-framed),
 * verifies each at the deep level, then damages copies (a flipped chunk byte, a torn
 * file, a flipped CRC-framed byte) and shows that each is caught. Exit 0 only if every
 * clean object passes and every damaged one is detected. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mo/sys.h"

typedef struct sample {
    const char *what;
    const char *schema;
    const char *pk;
    bool sorted, appendable, tombstone, framed;
    uint64_t rows;
} sample;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_problems(const mo_obj_problem *p, void *payload)
{
    (void)p;
    ++*(unsigned *)payload;
    return 0;
}

static int damage(const char *src, const char *dst, uint64_t flip_at, uint64_t truncate_to, mo_err *e)
{
    uint8_t *p;
    size_t n;
    int rc = mo_sys_read_file(&p, &n, src, e);
    if (rc < 0)
        return rc;
    if (flip_at < n)
        p[flip_at] ^= 0x5a;
    if (truncate_to < n)
        n = (size_t)truncate_to;
    rc = mo_sys_write_file_atomic(dst, p, n, e);
    mo_free(p);
    return rc;
}

int mo_cli_demo(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, NULL, 'o'},
                                       {"rows", required_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
    char dir[4096] = "";
    uint64_t rows = 100000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'o')
            snprintf(dir, sizeof(dir), "%s", optarg);
        else if (c == 'r')
            rows = strtoull(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: mosync demo [--out DIR] [--rows N]\n");
            return MO_CLI_USAGE;
        }
    }
    if (rows == 0 || rows > 10000000) {
        fprintf(stderr, "mosync demo: --rows must be 1..10000000\n");
        return MO_CLI_USAGE;
    }
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/mosync-demo.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mosync demo: mkdtemp");
            return MO_CLI_USAGE;
        }
    } else if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        perror(dir);
        return MO_CLI_USAGE;
    }
    const sample samples[] = {
        {"orders (sorted int64 PK, mixed types)",
         "o_id:int64,o_c_id:int32,o_amount:decimal64(12,2),o_entry:timestamp(6),o_note:varchar(40),o_ok:bool",
         "o_id", true, false, false, false, rows},
        {"every storable type, no PK",
         "b:bool,i8:int8,i16:int16,i32:int32,i64:int64,u8:uint8,u16:uint16,u32:uint32,u64:uint64,"
         "f32:float32,f64:float64,d64:decimal64(18,4),d128:decimal128(38,6),dt:date,tm:time(3),"
         "dtm:datetime(6),ts:timestamp,yr:year,ch:char(20),vc:varchar(100),tx:text,js:json,"
         "uu:uuid,bn:binary(16),vb:varbinary(64),en:enum,bt:bit(12),bl:blob,v32:vecf32(4),"
         "v64:vecf64(2),t:ts,r:rowid",
         NULL, false, false, false, false, rows / 4 + 1},
        {"appendable (commit-ts + abort columns)", "id:int64,v:varchar(30)", "id", true, true,
         false, false, rows / 2 + 1},
        {"tombstone (rowid + pk, hybrid filter)", "pk:int64", NULL, true, false, true, false,
         rows / 5 + 1},
        {"legacy DISK CRC-32C framed", "id:int64,name:varchar(40),price:float64", "id", true,
         false, false, true, rows / 2 + 1},
    };
    const size_t ns = sizeof(samples) / sizeof(samples[0]);
    char paths[8][4096];
    bool ok = true;
    printf("mosync demo: writing %zu sample objects into %s\n\n", ns, dir);
    printf("%-42s %8s %7s %10s %7s %9s  %s\n", "object", "rows", "blocks", "bytes", "framed",
           "verify", "result");
    double t0 = now_s();
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < ns; i++) {
        const sample *s = &samples[i];
        static mo_cli_col cols[64];
        size_t n;
        mo_err e = {0};
        mo_cli_genspec g;
        memset(&g, 0, sizeof(g));
        if (mo_cli_parse_schema(cols, 64, &n, s->schema, &e) < 0) {
            fprintf(stderr, "demo schema: %s\n", e.msg);
            return MO_CLI_USAGE;
        }
        g.cols = cols;
        g.ncols = n;
        g.pk = -1;
        for (size_t k = 0; s->pk && k < n; k++)
            if (!strcmp(cols[k].name, s->pk))
                g.pk = (int)k;
        g.sorted = s->sorted;
        g.appendable = s->appendable;
        g.tombstone = s->tombstone;
        g.framed = s->framed;
        g.rows = s->rows;
        g.seed = 42 + i;
        mo_obj_stats st;
        if (mo_cli_gen_object(&g, dir, paths[i], &st, &e) < 0) {
            fprintf(stderr, "mosync demo: %s: %s\n", s->what, e.msg);
            return MO_CLI_USAGE;
        }
        mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, &st, -1, 0};
        mo_obj_verify_result res;
        unsigned probs = 0;
        double v0 = now_s();
        int rc = mo_obj_verify_file(&res, paths[i], &vo, count_problems, &probs, &e);
        double dv = now_s() - v0;
        total_bytes += res.physical_size;
        printf("%-42s %8u %7u %10" PRIu64 " %7s %8.3fs  %s\n", s->what, st.rows, st.block_count,
               res.physical_size, res.framed ? "yes" : "no", dv,
               rc == MO_OK ? "ok" : mo_code_name(rc));
        if (rc != MO_OK)
            ok = false;
    }
    printf("\ndamaged copies (each must be detected):\n");
    struct {
        const char *what;
        size_t src;
        uint64_t flip, trunc;
        int want;
    } dmg[] = {
        {"byte flipped inside a column chunk", 0, 200, UINT64_MAX, MO_ECORRUPT},
        {"file torn 100 bytes short", 0, UINT64_MAX, 0, MO_ECORRUPT},
        {"byte flipped in a CRC-framed block", 4, 3000, UINT64_MAX, MO_ECHECKSUM},
    };
    for (size_t i = 0; i < sizeof(dmg) / sizeof(dmg[0]); i++) {
        char dst[4200];
        snprintf(dst, sizeof(dst), "%s/.damaged-%zu", dir, i);
        struct stat stt;
        stat(paths[dmg[i].src], &stt);
        uint64_t trunc = dmg[i].trunc == 0 ? (uint64_t)stt.st_size - 100 : dmg[i].trunc;
        mo_err e = {0};
        if (damage(paths[dmg[i].src], dst, dmg[i].flip, trunc, &e) < 0) {
            fprintf(stderr, "mosync demo: %s\n", e.msg);
            return MO_CLI_USAGE;
        }
        mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, NULL, -1, 0};
        mo_obj_verify_result res;
        unsigned probs = 0;
        int rc = mo_obj_verify_file(&res, dst, &vo, count_problems, &probs, &e);
        bool caught = rc != MO_OK && probs > 0;
        printf("  %-40s -> %-14s %u problem(s) %s\n", dmg[i].what, mo_code_name(rc), probs,
               caught ? "detected" : "MISSED");
        if (!caught)
            ok = false;
        unlink(dst);
    }
    printf("\n%zu objects, %.1f MB generated and deep-verified in %.2f s: %s\n", ns,
           total_bytes / 1e6, now_s() - t0, ok ? "ALL OK" : "FAILED");
    printf("try: mosync inspect %s | head -40\n", paths[0]);
    return ok ? MO_CLI_OK : MO_CLI_CORRUPT;
}

/* `mosync seed` / `resume` / `import`: the chunked, checksummed, resumable copier. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mo/xfer.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: mosync seed --from SRC --to DIR [-j N] [--chunk-size SZ] [--verify-level "
            "frame|struct|deep|none]\n"
            "                   [--bwlimit RATE] [--progress=json] [--framed] [--no-journal]\n"
            "                   [--ssl-ca FILE] [--ssl-mode disabled|preferred|required|verify_ca|verify_identity]\n"
            "       mosync resume --to DIR [same options]\n"
            "       mosync import FILE.tar --to DIR [same options]\n"
            "  SRC: a fileservice directory or a bundle (.tar) written by `mosync export`\n");
}

static int run(const char *from, const char *to, mo_xfer_opts *o, bool framed, bool json)
{
    mo_err e = {0};
    mo_src *src = NULL;
    mo_sink *sink = NULL;
    int rc = mo_sink_dir_open(&sink, to, framed, &e);
    if (rc == MO_OK && !from) {
        /* resume: the journal names the source and the chunk size */
        static mo_xfer_journal_status js;
        rc = mo_xfer_journal_status_read(&js, sink, &e);
        if (rc == MO_ENOTFOUND)
            mo_err_set(&e, rc, "%s: no checkpoint journal to resume", to);
        if (rc == MO_OK && o->chunk_size && o->chunk_size != js.chunk_size)
            rc = mo_err_set(&e, MO_ESTALE, "the journal's job uses chunks of %llu bytes, not %llu",
                            (unsigned long long)js.chunk_size, (unsigned long long)o->chunk_size);
        from = js.source;
        o->chunk_size = js.chunk_size;
        if (rc == MO_OK)
            fprintf(stderr, "mosync: resuming the job from %s (%s)\n", from,
                    js.complete ? "already complete" : "unfinished");
    }
    if (rc == MO_OK)
        rc = mo_src_open(&src, from, &e);
    mo_xfer_stats st;
    memset(&st, 0, sizeof(st));
    if (rc == MO_OK)
        rc = mo_xfer_run(&st, src, sink, o, &e);
    if (rc < 0)
        fprintf(stderr, "mosync: %s\n", e.msg);
    if (src || rc == MO_OK) {
        FILE *f = json ? stderr : stdout;
        if (json)
            fprintf(f,
                    "{\"event\":\"summary\",\"status\":\"%s\",\"objects\":%" PRIu64 ",\"copied\":%" PRIu64
                    ",\"skipped\":%" PRIu64 ",\"resumed\":%" PRIu64 ",\"bytes_total\":%" PRIu64
                    ",\"bytes_fetched\":%" PRIu64 ",\"bytes_rehashed\":%" PRIu64
                    ",\"chunks_refetched\":%" PRIu64 ",\"ignored\":%" PRIu64 ",\"seconds\":%.3f"
                    ",\"first_byte_seconds\":%.6f,\"peak_rss_kb\":%" PRIu64 "}\n",
                    rc == MO_OK ? "ok" : mo_code_name(rc), st.objects_total, st.objects_copied,
                    st.objects_skipped, st.objects_resumed, st.bytes_total, st.bytes_copied,
                    st.bytes_rehashed, st.chunks_refetched, st.ignored, st.seconds,
                    st.first_byte_seconds, st.peak_rss_kb);
        else
            fprintf(f,
                    "%s: %" PRIu64 " objects (%" PRIu64 " copied, %" PRIu64 " already there, %" PRIu64
                    " resumed), %.1f MB fetched of %.1f MB, %.1f MB re-hashed locally, %" PRIu64
                    " chunks re-fetched, %" PRIu64 " non-object entries ignored, %.2f s, %.1f MB/s,"
                    " first byte after %.3f s, peak RSS %" PRIu64 " KB\n",
                    rc == MO_OK ? "seeded" : "stopped", st.objects_total, st.objects_copied,
                    st.objects_skipped, st.objects_resumed, st.bytes_copied / 1e6,
                    st.bytes_total / 1e6, st.bytes_rehashed / 1e6, st.chunks_refetched, st.ignored,
                    st.seconds, st.seconds > 0 ? st.bytes_copied / 1e6 / st.seconds : 0.0,
                    st.first_byte_seconds, st.peak_rss_kb);
    }
    mo_src_free(src);
    mo_sink_free(sink);
    return mo_cli_exit_for(rc);
}

static int seed_main(int argc, char **argv, const char *mode)
{
    static const struct option lo[] = {
        {"from", required_argument, NULL, 'f'},       {"to", required_argument, NULL, 't'},
        {"chunk-size", required_argument, NULL, 'c'}, {"verify-level", required_argument, NULL, 'v'},
        {"bwlimit", required_argument, NULL, 'b'},    {"progress", optional_argument, NULL, 'p'},
        {"framed", no_argument, NULL, 'F'},           {"no-journal", no_argument, NULL, 'N'},
        {"ssl-ca", required_argument, NULL, 'A'},     {"ssl-mode", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    mo_xfer_opts o;
    memset(&o, 0, sizeof(o));
    o.verify_level = MO_OBJ_LEVEL_DEEP;
    o.journal = true;
    /* two objects in flight by default: one publishes (fsync, rename) while the other copies */
    o.jobs = 2;
    o.progress = isatty(2) ? 1 : 0;
    bool framed = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:h", lo, NULL)) != -1) {
        unsigned long long v;
        switch (c) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'j': {
            char *end;
            long j = strtol(optarg, &end, 10);
            if (*end || j < 1 || j > 64) {
                fprintf(stderr, "mosync %s: -j wants 1..64\n", mode);
                return MO_CLI_USAGE;
            }
            o.jobs = (unsigned)j;
            break;
        }
        case 'c':
            if (!mo_cli_parse_size(optarg, &v) || v < 4096 || v > (1ull << 30)) {
                fprintf(stderr, "mosync %s: --chunk-size wants 4K..1G\n", mode);
                return MO_CLI_USAGE;
            }
            o.chunk_size = v;
            break;
        case 'v':
            if (!strcmp(optarg, "none"))
                o.verify_level = 0;
            else if (mo_obj_level_parse(&o.verify_level, optarg) < 0) {
                fprintf(stderr, "mosync %s: --verify-level wants frame|struct|deep|none\n", mode);
                return MO_CLI_USAGE;
            }
            break;
        case 'b':
            if (!mo_cli_parse_size(optarg, &v) || v == 0) {
                fprintf(stderr, "mosync %s: --bwlimit wants a rate like 50M (bytes/s)\n", mode);
                return MO_CLI_USAGE;
            }
            o.bwlimit = v;
            break;
        case 'p':
            if (optarg && strcmp(optarg, "json")) {
                fprintf(stderr, "mosync %s: --progress takes only =json\n", mode);
                return MO_CLI_USAGE;
            }
            o.progress = optarg ? 2 : 1;
            json = optarg != NULL;
            break;
        case 'F': framed = true; break;
        /* TLS to an MO upstream (mysql:// sources): handed to the source's connector */
        case 'A': setenv("MO_UPSTREAM_SSL_CA", optarg, 1); break;
        case 'M': setenv("MO_UPSTREAM_SSL_MODE", optarg, 1); break;
        case 'N': o.journal = false; break;
        default: usage(); return c == 'h' ? MO_CLI_OK : MO_CLI_USAGE;
        }
    }
    if (!strcmp(mode, "import")) {
        if (optind + 1 != argc || !to) {
            usage();
            return MO_CLI_USAGE;
        }
        from = argv[optind];
    } else if (optind != argc || !to || (!strcmp(mode, "seed") && !from) ||
               (!strcmp(mode, "resume") && from)) {
        usage();
        return MO_CLI_USAGE;
    }
    return run(from, to, &o, framed, json);
}

int mo_cli_seed(int argc, char **argv)
{
    return seed_main(argc, argv, "seed");
}
int mo_cli_resume(int argc, char **argv)
{
    return seed_main(argc, argv, "resume");
}
int mo_cli_import(int argc, char **argv)
{
    return seed_main(argc, argv, "import");
}

int mo_cli_journal(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mosync journal DIR\n");
        return MO_CLI_USAGE;
    }
    mo_err e = {0};
    mo_sink *sink;
    mo_xfer_journal_status js;
    int rc = mo_sink_dir_open(&sink, argv[1], false, &e);
    if (rc == MO_OK) {
        rc = mo_xfer_journal_status_read(&js, sink, &e);
        mo_sink_free(sink);
    }
    if (rc < 0) {
        fprintf(stderr, "mosync journal: %s\n", e.msg);
        return mo_cli_exit_for(rc);
    }
    printf("source %s\nobjects %" PRIu64 "\nchunk_size %" PRIu64 "\npublished %" PRIu64
           "\nchunk_records %" PRIu64 "\ntorn_bytes %" PRIu64 "\ncomplete %s\n",
           js.source, js.objects, js.chunk_size, js.done, js.chunks, js.torn,
           js.complete ? "yes" : "no");
    return MO_CLI_OK;
}

/* Replays fuzz inputs without libFuzzer (gcc builds, ctest regressions): runs
 * LLVMFuzzerTestOneInput once on every regular file named on the command line or found
 * directly inside a directory named there. A crash or a failed invariant aborts, which
 * ctest reports; a missing path or an unreadable file is exit status 1. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "mo/base.h"
#include "mo/sys.h"
#include "mo_fuzz.h"

static int run_file(const char *path, unsigned long *count)
{
    uint8_t *data;
    size_t len;
    mo_err err;
    if (mo_sys_read_file(&data, &len, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    LLVMFuzzerTestOneInput(data, len);
    mo_free(data);
    ++*count;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s file-or-dir...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: no such file or directory\n", argv[i]);
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i], &count);
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "%s: cannot open directory\n", argv[i]);
            bad = 1;
            continue;
        }
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            mo_buf path = MO_BUF_INIT;
            if (mo_buf_printf(&path, "%s/%s", argv[i], e->d_name) < 0) {
                bad = 1;
                break;
            }
            if (stat((const char *)path.ptr, &st) == 0 && S_ISREG(st.st_mode))
                bad |= run_file((const char *)path.ptr, &count);
            mo_buf_dispose(&path);
        }
        closedir(d);
    }
    fprintf(stderr, "%s: %lu inputs replayed\n", argv[0], count);
    return bad;
}

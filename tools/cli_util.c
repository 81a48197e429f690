/* CLI helpers: JSON strings, directory walks, schema specs, and object generation shared
 * by `mosync mkobj` and `mosync demo`. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mo/sys.h"

int mo_cli_json_str(mo_buf *out, const char *s)
{
    int rc = mo_buf_put_u8(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == MO_OK; p++) {
        if (*p == '"' || *p == '\\')
            rc = mo_buf_printf(out, "\\%c", *p);
        else if (*p < 0x20)
            rc = mo_buf_printf(out, "\\u%04x", *p);
        else
            rc = mo_buf_put_u8(out, *p);
    }
    return rc == MO_OK ? mo_buf_put_u8(out, '"') : rc;
}

static int walk(const char *path, bool top, mo_cli_file_cb cb, void *payload, unsigned *skipped,
                mo_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s", path);
    if (S_ISREG(st.st_mode))
        return cb(path, (uint64_t)st.st_size, payload);
    if (!S_ISDIR(st.st_mode)) {
        if (top)
            return mo_err_set(err, MO_EINVAL, "%s: not a file or directory", path);
        (*skipped)++;
        return MO_OK;
    }
    DIR *d = opendir(path);
    if (!d)
        return mo_err_sys(err, MO_EIO, errno, "%s: opendir", path);
    /* sorted for deterministic output */
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = MO_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                (*skipped)++;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = mo_realloc(names, cap * sizeof(*nn));
            if (!nn) {
                rc = MO_ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = mo_strdup(de->d_name))) {
            rc = MO_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == MO_OK)
        qsort(names, n, sizeof(*names), (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        char sub[4096];
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, names[i]) >= sizeof(sub))
            rc = mo_err_set(err, MO_EINVAL, "path too long under %s", path);
        else
            rc = walk(sub, false, cb, payload, skipped, err);
    }
    for (size_t i = 0; i < n; i++)
        mo_free(names[i]);
    mo_free(names);
    if (rc == MO_ENOMEM)
        mo_err_set(err, rc, "%s: out of memory", path);
    return rc;
}

int mo_cli_walk(const char *path, mo_cli_file_cb cb, void *payload, unsigned *skipped, mo_err *err)
{
    return walk(path, true, cb, payload, skipped, err);
}

int mo_cli_parse_schema(mo_cli_col *cols, size_t cap, size_t *n, const char *spec, mo_err *err)
{
    *n = 0;
    const char *p = spec;
    while (*p) {
        /* a comma inside parentheses belongs to the type: decimal64(12,2) */
        const char *e = p;
        int depth = 0;
        while (*e && (*e != ',' || depth)) {
            depth += *e == '(';
            depth -= *e == ')';
            e++;
        }
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (!colon || colon == p || (size_t)(colon - p) >= sizeof(cols[0].name))
            return mo_err_set(err, MO_EINVAL, "schema: want name:type, got '%.*s'", (int)(e - p), p);
        if (*n == cap)
            return mo_err_set(err, MO_EINVAL, "schema: more than %zu columns", cap);
        mo_cli_col *c = &cols[(*n)++];
        memcpy(c->name, p, (size_t)(colon - p));
        c->name[colon - p] = 0;
        int rc = mo_obj_type_parse(&c->type, colon + 1, (size_t)(e - colon - 1), err);
        if (rc < 0)
            return rc;
        p = *e ? e + 1 : e;
    }
    if (*n == 0)
        return mo_err_set(err, MO_EINVAL, "schema: no columns");
    return MO_OK;
}

int mo_cli_write_object(const char *path, const uint8_t *p, size_t n, bool framed, mo_err *err)
{
    if (!framed)
        return mo_sys_write_file_atomic(path, p, n, err);
    mo_buf f = MO_BUF_INIT;
    int rc = mo_obj_frame_encode(&f, p, n);
    if (rc == MO_OK)
        rc = mo_sys_write_file_atomic(path, f.ptr, f.len, err);
    else
        mo_err_set(err, rc, "framing %zu bytes", n);
    mo_buf_dispose(&f);
    return rc;
}

void mo_cli_print_stats(FILE *f, const mo_obj_stats *st)
{
    char name[43];
    mo_obj_name_format(name, &st->id);
    fprintf(f, "%s rows=%" PRIu32 " blocks=%" PRIu32 " size=%" PRIu32 " origin=%" PRIu32
               " meta=%u_%u_%u_%u flags=0x%02x%s%s%s level=%d\n",
            name, st->rows, st->block_count, st->size, st->origin_size, st->extent.alg,
            st->extent.offset, st->extent.length, st->extent.origin_size, st->flags,
            st->flags & MO_OBJ_STATS_APPENDABLE ? " appendable" : "",
            st->flags & MO_OBJ_STATS_SORTED ? " sorted" : "",
            st->flags & MO_OBJ_STATS_CNCREATED ? " cn-created" : "", mo_obj_stats_level(st));
}

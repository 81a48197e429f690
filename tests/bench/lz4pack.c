/*
 * mo_lz4pack: repacks the LZ4 raw blocks of MatrixOne object files, without
 * recompression, into one LZ4 *frame* file so that `lz4 -t FILE` decompresses exactly
 * the blocks `mosync verify --level deep` decompresses (column chunks, ZM areas, meta).
 *
 * Frame (lz4_Frame_format.md): magic 0x184D2204, FLG 0x60 (version 01, independent
 * blocks, no block/content checksum, no content size, no dict id), BD 0x70 (block max
 * size 4 MB), HC = (XXH32(FLG BD, 0) >> 8) & 0xFF; then per block u32 LE compressed size
 * (high bit clear = LZ4-compressed) + the raw LZ4 block bytes; then the end mark 0.
 * Blocks whose originSize or stored length exceeds 4 MB cannot be in such a frame: they
 * are skipped and counted. Extents with alg 0 (BF areas) are not LZ4 and are not packed.
 *
 * usage: mo_lz4pack [--no-meta] [--no-zm] -o OUT PATH...   (PATH: object file or directory)
 *        mo_lz4pack --floor [--no-meta] [--no-zm] PATH...
 * --floor writes nothing: it reads the same extents the way the verifier does (pread into a
 * buffer, in object, slot, block, column order), decodes each with LZ4_decompress_safe into
 * one reused buffer (ret == originSize required), and prints the seconds: the decompression
 * floor of `verify --level deep` on this machine, against which `lz4 -t` can be read.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <sys/stat.h>
#include <time.h>
#include <xxhash.h>

#include "mo/objfmt.h"

#define BLOCK_MAX (4u << 20)

typedef struct pack {
    FILE *out;
    uint8_t *buf;
    size_t cap;
    bool meta, zm, floor;
    uint8_t *dbuf; /* --floor: decode target */
    size_t dcap;
    uint64_t objects, blocks, skipped, skipped_bytes, raw_extents, in_bytes, obj_bytes,
        out_origin, chunks, zms, metas;
} pack;

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int emit(pack *k, mo_obj_reader *r, const mo_obj_extent *e, uint64_t *counter)
{
    if (e->length == 0)
        return 0;
    if (e->alg == MO_OBJ_ALG_NONE) {
        k->raw_extents++;
        return 0;
    }
    if (e->origin_size > BLOCK_MAX || e->length > BLOCK_MAX) {
        k->skipped++;
        k->skipped_bytes += e->length;
        return 0;
    }
    if (k->cap < e->length + 4) {
        k->cap = e->length + 4;
        k->buf = realloc(k->buf, k->cap);
        if (!k->buf) {
            perror("realloc");
            return -1;
        }
    }
    mo_err err = {0};
    if (mo_obj_reader_read(r, k->buf + 4, e->length, e->offset, &err) < 0) {
        fprintf(stderr, "mo_lz4pack: %s: %s\n", mo_obj_reader_name(r), err.msg);
        return -1;
    }
    if (k->floor) {
        if (k->dcap < e->origin_size) {
            k->dcap = e->origin_size;
            k->dbuf = realloc(k->dbuf, k->dcap);
            if (!k->dbuf) {
                perror("realloc");
                return -1;
            }
        }
        if (LZ4_decompress_safe((const char *)k->buf + 4, (char *)k->dbuf, (int)e->length,
                                (int)e->origin_size) != (int)e->origin_size) {
            fprintf(stderr, "mo_lz4pack: %s: bad LZ4 block at %u\n", mo_obj_reader_name(r),
                    e->offset);
            return -1;
        }
    } else {
        put_le32(k->buf, e->length); /* high bit clear: compressed block */
    }
    if (!k->floor && fwrite(k->buf, 1, e->length + 4, k->out) != e->length + 4) {
        perror("mo_lz4pack: write");
        return -1;
    }
    k->blocks++;
    k->in_bytes += e->length;
    k->out_origin += e->origin_size;
    (*counter)++;
    return 0;
}

static int pack_object(pack *k, const char *path)
{
    mo_obj_reader *r;
    mo_err err = {0};
    mo_obj_where w;
    if (mo_obj_reader_open(&r, path, &err) < 0) {
        fprintf(stderr, "mo_lz4pack: %s: %s (skipped)\n", path, err.msg);
        return 0;
    }
    if (mo_obj_reader_load_meta(r, &w, &err) < 0) {
        fprintf(stderr, "mo_lz4pack: %s: meta: %s (skipped)\n", path, err.msg);
        mo_obj_reader_free(r);
        return 0;
    }
    int rc = 0;
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    if (k->meta) {
        mo_obj_extent me = mo_obj_reader_meta_extent(r);
        rc = emit(k, r, &me, &k->metas);
    }
    for (uint32_t s = 0; rc == 0 && s < m->slot_count; s++) {
        const mo_obj_slotmeta *sm = &m->slots[s];
        if (k->zm)
            rc = emit(k, r, &sm->hdr.zm_area, &k->zms);
        for (uint32_t b = 0; rc == 0 && b < sm->block_count; b++) {
            const mo_obj_blockmeta *bm = &sm->blocks[b];
            for (uint32_t c = 0; rc == 0 && c < bm->hdr.meta_column_count; c++) {
                if (bm->cols[c].type == 0)
                    continue;
                rc = emit(k, r, &bm->cols[c].extent, &k->chunks);
            }
        }
    }
    k->objects++;
    k->obj_bytes += mo_obj_reader_physical_size(r);
    mo_obj_reader_free(r);
    return rc;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pack_path(pack *k, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "mo_lz4pack: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? pack_object(k, path) : 0;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "mo_lz4pack: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof(*names));
        }
        size_t l = strlen(path) + strlen(de->d_name) + 2;
        names[n] = malloc(l);
        snprintf(names[n++], l, "%s/%s", path, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmpstr);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = pack_path(k, names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    pack k = {.meta = true, .zm = true};
    const char *outp = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--no-meta"))
            k.meta = false;
        else if (!strcmp(argv[i], "--no-zm"))
            k.zm = false;
        else if (!strcmp(argv[i], "--floor"))
            k.floor = true;
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            outp = argv[++i];
        else
            break;
    }
    if ((!outp && !k.floor) || i >= argc) {
        fprintf(stderr, "usage: mo_lz4pack [--no-meta] [--no-zm] -o OUT PATH...\n"
                        "       mo_lz4pack --floor [--no-meta] [--no-zm] PATH...\n");
        return 2;
    }
    if (k.floor) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = 0;
        for (; rc == 0 && i < argc; i++)
            rc = pack_path(&k, argv[i]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%.4f\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        fprintf(stderr, "mo_lz4pack --floor: %" PRIu64 " LZ4 blocks, %" PRIu64 " -> %" PRIu64 " bytes\n",
                k.blocks, k.in_bytes, k.out_origin);
        free(k.buf);
        free(k.dbuf);
        return rc == 0 ? 0 : 1;
    }
    k.out = fopen(outp, "wb");
    if (!k.out) {
        fprintf(stderr, "mo_lz4pack: %s: %s\n", outp, strerror(errno));
        return 1;
    }
    static char obuf[1 << 20];
    setvbuf(k.out, obuf, _IOFBF, sizeof(obuf));
    uint8_t hdr[7];
    put_le32(hdr, 0x184D2204u);
    hdr[4] = 0x60; /* version 01, B.Indep, no checksums, no content size, no dict */
    hdr[5] = 0x70; /* block max size 4 MB */
    hdr[6] = (uint8_t)(XXH32(hdr + 4, 2, 0) >> 8);
    fwrite(hdr, 1, sizeof(hdr), k.out);
    int rc = 0;
    for (; rc == 0 && i < argc; i++)
        rc = pack_path(&k, argv[i]);
    uint8_t end[4] = {0};
    fwrite(end, 1, 4, k.out);
    if (fclose(k.out) != 0) {
        perror("mo_lz4pack: close");
        rc = -1;
    }
    free(k.buf);
    free(k.dbuf);
    fprintf(stderr,
            "mo_lz4pack: %" PRIu64 " objects (%" PRIu64 " bytes): %" PRIu64 " LZ4 blocks (%" PRIu64
            " chunks, %" PRIu64 " ZM areas, %" PRIu64 " metas), %" PRIu64 " compressed -> %" PRIu64
            " decompressed bytes; %" PRIu64 " blocks > 4 MB skipped (%" PRIu64
            " bytes); %" PRIu64 " alg-0 extents not packed\n",
            k.objects, k.obj_bytes, k.blocks, k.chunks, k.zms, k.metas, k.in_bytes, k.out_origin,
            k.skipped, k.skipped_bytes, k.raw_extents);
    return rc == 0 ? 0 : 1;
}

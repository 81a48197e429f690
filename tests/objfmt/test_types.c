/* Identifiers, names, locations, TS/Rowid, type specs and ObjectStats: MO's own test
 * vectors (object_stats_test.go, block_info_test.go, location/consumer tests) and the
 * hostile names a path must never accept. */
#include <stdio.h>
#include <string.h>

#include "mo/objfmt.h"
#include "mo_test.h"

static void test_types__name_roundtrip(void)
{
    mo_obj_objectid id;
    const char *s = "0191b752-b7af-76d9-af25-e702423dc08a_00000";
    MO_ASSERT_OK(mo_obj_name_parse(&id, s, strlen(s), &mo_test_err));
    char out[43];
    mo_obj_name_format(out, &id);
    CU_ASSERT_STRING_EQUAL(out, s);
    CU_ASSERT_EQUAL(id.seg[0], 0x01);
    CU_ASSERT_EQUAL(id.seg[15], 0x8a);
    CU_ASSERT_EQUAL(id.num, 0);
    s = "0191b752-b7af-76d9-af25-e702423dc08a_65535";
    MO_ASSERT_OK(mo_obj_name_parse(&id, s, strlen(s), &mo_test_err));
    CU_ASSERT_EQUAL(id.num, 65535);
    uint8_t n60[60];
    mo_obj_name_encode(n60, &id);
    CU_ASSERT(memcmp(n60 + 18, s, 42) == 0);
    CU_ASSERT_EQUAL(mo_load_le16(n60 + 16), 65535);
    mo_obj_objectid back;
    MO_ASSERT_OK(mo_obj_name_decode(&back, n60, &mo_test_err));
    CU_ASSERT_EQUAL(mo_obj_objectid_cmp(&back, &id), 0);
    n60[20] = 'f'; /* string no longer matches the binary id */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_name_decode(&back, n60, &mo_test_err));
}

static void test_types__hostile_names(void)
{
    char long300[301];
    memset(long300, 'a', 300);
    long300[300] = 0;
    const char *bad[] = {
        "",
        "../0191b752-b7af-76d9-af25-e702423dc08a_0",
        "0191b752-b7af-76d9-af25-e702423dc08a_65536", /* num > u16 */
        "0191b752-b7af-76d9-af25-e702423dc08a_00a00", /* consumer_test.go's malformed num */
        "0191B752-b7af-76d9-af25-e702423dc08a_00000", /* upper case */
        "0191b752-b7af-76d9-af25-e702423dc08a-00000",
        "0191b752-b7af-76d9-af25_e702423dc08a_00000",
        "0191b752/b7af-76d9-af25-e702423dc08a_00000",
        "0191b752-b7af-76d9-af25-e702423dc08a_000000",
        "0191b752-b7af-76d9-af25-e702423dc08a_0000",
        long300,
    };
    mo_obj_objectid id;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        MO_ASSERT_RC(MO_EINVAL, mo_obj_name_parse(&id, bad[i], strlen(bad[i]), &mo_test_err));
        CU_ASSERT_FALSE(mo_obj_name_valid(bad[i]));
    }
    /* an embedded NUL: 42 bytes, but not a name */
    char nul[43] = "0191b752-b7af-76d9-af25-e702423dc08a_00000";
    nul[10] = 0;
    MO_ASSERT_RC(MO_EINVAL, mo_obj_name_parse(&id, nul, 42, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "?") != NULL); /* non-printables are masked */
    CU_ASSERT_FALSE(mo_obj_name_valid(nul));
}

static void test_types__segid_v7(void)
{
    uint8_t a[16], b[16];
    MO_ASSERT_OK(mo_obj_segid_new(a, &mo_test_err));
    MO_ASSERT_OK(mo_obj_segid_new(b, &mo_test_err));
    CU_ASSERT_EQUAL(a[6] >> 4, 7);       /* version 7 */
    CU_ASSERT_EQUAL(a[8] & 0xC0, 0x80);  /* variant 10 */
    CU_ASSERT(memcmp(a, b, 16) != 0);
    CU_ASSERT(memcmp(a, b, 6) <= 0); /* ms clock prefix is monotone */
    char s[37];
    mo_obj_uuid_format(s, a);
    uint8_t c[16];
    MO_ASSERT_OK(mo_obj_uuid_parse(c, s, 36, &mo_test_err));
    CU_ASSERT(memcmp(a, c, 16) == 0);
    MO_ASSERT_OK(mo_obj_uuid_parse(c, "0D5687DA-2A67-11ED-99E0-000C29847904", 36, &mo_test_err));
    mo_obj_uuid_format(s, c);
    CU_ASSERT_STRING_EQUAL(s, "0d5687da-2a67-11ed-99e0-000c29847904");
}

static void test_types__location(void)
{
    /* pkg/datasync/consumer_test.go */
    const char *s = "0191b752-b7af-76d9-af25-e702423dc08a_00000_1_2364_1046_9541_0_0";
    mo_obj_location loc;
    MO_ASSERT_OK(mo_obj_location_parse(&loc, s, &mo_test_err));
    CU_ASSERT_EQUAL(loc.extent.alg, 1);
    CU_ASSERT_EQUAL(loc.extent.offset, 2364);
    CU_ASSERT_EQUAL(loc.extent.length, 1046);
    CU_ASSERT_EQUAL(loc.extent.origin_size, 9541);
    CU_ASSERT_EQUAL(loc.rows, 0);
    CU_ASSERT_EQUAL(loc.block, 0);
    char out[128];
    mo_obj_location_format(out, &loc);
    CU_ASSERT_STRING_EQUAL(out, s);
    uint8_t b[79];
    mo_obj_location_encode(b, &loc);
    CU_ASSERT_EQUAL(mo_load_le32(b + 60 + 1), 2364);
    MO_ASSERT_RC(MO_EINVAL,
                 mo_obj_location_parse(&loc, "0191b752-b7af-76d9-af25-e702423dc08a_00a00_1_2364_1046_9541_0_0", &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL,
                 mo_obj_location_parse(&loc, "0191b752-b7af-76d9-af25-e702423dc08a_00000_1_2364_1046_9541_0", &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL,
                 mo_obj_location_parse(&loc, "0191b752-b7af-76d9-af25-e702423dc08a_00000_1_2364_1046_9541_0_0_9", &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL,
                 mo_obj_location_parse(&loc, "0191b752-b7af-76d9-af25-e702423dc08a_00000_256_1_1_1_0_0", &mo_test_err));
}

static void test_types__extent_ts_rowid(void)
{
    mo_obj_extent e = {1, 0x1f, 0x2f, 0x3f}, d;
    uint8_t b[13];
    mo_obj_extent_encode(b, &e);
    static const uint8_t want[13] = {1, 0x1f, 0, 0, 0, 0x2f, 0, 0, 0, 0x3f, 0, 0, 0};
    CU_ASSERT(memcmp(b, want, 13) == 0);
    mo_obj_extent_decode(&d, b);
    CU_ASSERT(d.offset == 0x1f && d.length == 0x2f && d.origin_size == 0x3f);
    /* TS: u32 logical @0, i64 physical @4; ordering physical (signed) then logical */
    mo_obj_ts t = {-5, 7};
    uint8_t tb[12];
    mo_obj_ts_encode(tb, t);
    CU_ASSERT_EQUAL(mo_load_le32(tb), 7);
    CU_ASSERT_EQUAL((int64_t)mo_load_le64(tb + 4), -5);
    char ts[48];
    mo_obj_ts_format(ts, t);
    CU_ASSERT_STRING_EQUAL(ts, "-5-7");
    mo_obj_ts p;
    MO_ASSERT_OK(mo_obj_ts_parse(&p, "1700000000000000000-3", &mo_test_err));
    CU_ASSERT(p.physical == 1700000000000000000ll && p.logical == 3);
    MO_ASSERT_OK(mo_obj_ts_parse(&p, "-5-7", &mo_test_err));
    CU_ASSERT(mo_obj_ts_cmp(p, t) == 0);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_ts_parse(&p, "12", &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_ts_parse(&p, "1-4294967296", &mo_test_err));
    CU_ASSERT(mo_obj_ts_cmp((mo_obj_ts){1, 9}, (mo_obj_ts){2, 0}) < 0);
    CU_ASSERT(mo_obj_ts_cmp((mo_obj_ts){-1, 0}, (mo_obj_ts){0, 0}) < 0);
    /* Rowid: objectid | u16 block | u32 row; numeric (not byte) order after the segment */
    mo_obj_objectid id;
    MO_ASSERT_OK(mo_obj_name_parse(&id, "0191b752-b7af-76d9-af25-e702423dc08a_00003", 42, &mo_test_err));
    uint8_t r1[24], r2[24];
    mo_obj_rowid_make(r1, &id, 1, 256);
    mo_obj_rowid_make(r2, &id, 1, 1);
    CU_ASSERT(mo_obj_rowid_cmp(r1, r2, 24) > 0); /* bytewise would say < */
    char rs[64];
    mo_obj_rowid_format(rs, r1);
    CU_ASSERT_STRING_EQUAL(rs, "0191b752-b7af-76d9-af25-e702423dc08a_3_1_256");
    uint8_t r3[24];
    MO_ASSERT_OK(mo_obj_rowid_parse(r3, rs, &mo_test_err));
    CU_ASSERT(memcmp(r1, r3, 24) == 0);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_rowid_parse(r3, "0191b752-b7af-76d9-af25-e702423dc08a_3_1", &mo_test_err));
}

static void test_types__type_specs(void)
{
    mo_obj_type t;
    MO_ASSERT_OK(mo_obj_type_parse(&t, "decimal64(12,2)", 15, &mo_test_err));
    CU_ASSERT(t.oid == MO_T_DECIMAL64 && t.size == 8 && t.width == 12 && t.scale == 2);
    MO_ASSERT_OK(mo_obj_type_parse(&t, "varchar(40)", 11, &mo_test_err));
    CU_ASSERT(t.oid == MO_T_VARCHAR && t.size == 24 && t.width == 40 && t.charset == 3);
    MO_ASSERT_OK(mo_obj_type_parse(&t, "timestamp(6)", 12, &mo_test_err));
    CU_ASSERT(t.oid == MO_T_TIMESTAMP && t.scale == 6);
    MO_ASSERT_OK(mo_obj_type_parse(&t, "varbinary", 9, &mo_test_err));
    CU_ASSERT(t.width == 65535 && t.charset == 1);
    const char *bad[] = {"int99", "decimal64(12,20)", "varchar(x)", "int64(3)", "timestamp(7)",
                         "decimal64(12,2", "varchar(10)x", "tuple", "interval"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        MO_ASSERT_RC(MO_EINVAL, mo_obj_type_parse(&t, bad[i], strlen(bad[i]), &mo_test_err));
    /* §7: Size must be canonical, non-storable Oids are rejected */
    uint8_t w[16];
    t = mo_obj_type_default(MO_T_INT32);
    mo_obj_type_encode(w, &t);
    MO_ASSERT_OK(mo_obj_type_decode(&t, w, &mo_test_err));
    mo_store_le32(w + 4, 8);
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_type_decode(&t, w, &mo_test_err));
    w[0] = MO_T_INTERVAL;
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_type_decode(&t, w, &mo_test_err));
    CU_ASSERT_EQUAL(mo_obj_type_size(MO_T_BLOCKID), 20);
    CU_ASSERT_EQUAL(mo_obj_type_size(MO_T_INT128), -1);
}

static void test_types__object_stats(void)
{
    /* object_stats_test.go: name from Uuid{0x1f,0x2f} num 0, extent (0x1f,0x2f,0x3f,0x4f),
     * blkCnt 99, rows 98, sort-key ZM BuildZM(T_uint8, {0x0a,...}) */
    mo_obj_stats st;
    memset(&st, 0, sizeof(st));
    st.id.seg[0] = 0x1f;
    st.id.seg[1] = 0x2f;
    st.extent = (mo_obj_extent){0x1f, 0x2f, 0x3f, 0x4f};
    st.block_count = 99;
    st.rows = 98;
    mo_obj_zm zm;
    mo_obj_zm_init(&zm, MO_T_UINT8, 0);
    uint8_t v = 0x0a;
    mo_obj_zm_update(&zm, &v, 1);
    v = 0x0d;
    mo_obj_zm_update(&zm, &v, 1);
    memcpy(st.sort_key_zm, zm.b, 64);
    st.size = 1234;
    st.origin_size = 5678;
    st.flags = MO_OBJ_STATS_SORTED | MO_OBJ_STATS_CNCREATED;
    uint8_t b[MO_OBJ_STATS_LEN];
    mo_obj_stats_encode(b, &st);
    CU_ASSERT_EQUAL(b[0], 0x1f);
    CU_ASSERT(memcmp(b + 18, "1f2f0000-0000-0000-0000-000000000000_00000", 42) == 0);
    CU_ASSERT_EQUAL(b[60], 0x1f);
    CU_ASSERT_EQUAL(mo_load_le32(b + 73), 98);
    CU_ASSERT_EQUAL(mo_load_le32(b + 77), 99);
    CU_ASSERT_EQUAL(b[81 + 63], MO_T_UINT8);
    CU_ASSERT_EQUAL(b[153], 0x06);
    mo_obj_stats d;
    MO_ASSERT_OK(mo_obj_stats_decode(&d, b, &mo_test_err));
    CU_ASSERT(d.extent.alg == st.extent.alg && d.extent.offset == st.extent.offset &&
              d.extent.length == st.extent.length && d.extent.origin_size == st.extent.origin_size);
    CU_ASSERT(d.rows == 98 && d.block_count == 99 && d.size == 1234 && d.origin_size == 5678);
    CU_ASSERT(memcmp(d.sort_key_zm, st.sort_key_zm, 64) == 0);
    /* TestObjectStats_SetLevel: bits 5-7, clamped, other flags kept */
    mo_obj_stats_set_level(&d, 3);
    CU_ASSERT_EQUAL(mo_obj_stats_level(&d), 3);
    CU_ASSERT_EQUAL(d.flags & 0x1f, 0x06);
    mo_obj_stats_set_level(&d, -1);
    CU_ASSERT_EQUAL(mo_obj_stats_level(&d), 0);
    mo_obj_stats_set_level(&d, 8);
    CU_ASSERT_EQUAL(mo_obj_stats_level(&d), 7);
    CU_ASSERT_EQUAL(d.flags, 0xE6);
    /* TestObjectStatsToBlockInfoSlice: 99 blocks, rows 8192*98+1 */
    d.rows = 8192 * 98 + 1;
    for (uint32_t i = 0; i < 98; i++)
        CU_ASSERT_EQUAL(mo_obj_stats_block_rows(&d, i), 8192);
    CU_ASSERT_EQUAL(mo_obj_stats_block_rows(&d, 98), 1);
    CU_ASSERT_EQUAL(mo_obj_stats_block_rows(&d, 99), 0);
    /* a stats record whose name string is garbage is corrupt */
    b[30] = '/';
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_stats_decode(&d, b, &mo_test_err));
}

static void test_types__meta_versions(void)
{
    /* a V3 meta re-labelled V2 decodes the same; a bare slot-0 data meta decodes as V1 */
    mo_obj_writer_col cols[1] = {{mo_obj_type_default(MO_T_INT64), 0}};
    mo_obj_writer_opts o = {0};
    o.pk_pos = 0;
    o.sort_key_pos = -1;
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, 1, &o, &mo_test_err));
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &cols[0].type);
    for (int i = 0; i < 50; i++) {
        uint8_t v[8];
        mo_store_le64(v, (uint64_t)i);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, v));
    }
    mo_obj_vec vec;
    mo_obj_colbuf_view(&vec, &c);
    MO_ASSERT_OK(mo_obj_writer_add_block(w, &vec, &mo_test_err));
    mo_buf f = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_writer_finish(w, &f, NULL, &mo_test_err));
    mo_obj_extent me;
    mo_obj_extent_decode(&me, f.ptr + 10);
    uint8_t blob[8192];
    CU_ASSERT_FATAL(me.origin_size <= sizeof(blob));
    MO_ASSERT_OK(mo_obj_lz4_decode(blob, me.origin_size, f.ptr + me.offset, me.length, &mo_test_err));
    mo_obj_meta m;
    blob[2] = 2;
    MO_ASSERT_OK(mo_obj_meta_decode(&m, blob, me.origin_size, NULL, &mo_test_err));
    CU_ASSERT(m.version == 2 && m.slot_count == 2 && m.slots[0].block_count == 1);
    uint32_t slot0_len = m.slots[0].blob_len, slot0_off = m.slots[0].blob_offset;
    mo_obj_meta_dispose(&m);
    uint8_t v1[8192] = {1, 0, 1, 0};
    memcpy(v1 + 4, blob + slot0_off, slot0_len);
    /* V1 block index offsets are relative to the data meta, so they stay valid */
    MO_ASSERT_OK(mo_obj_meta_decode(&m, v1, 4 + slot0_len, NULL, &mo_test_err));
    CU_ASSERT(m.version == 1 && m.slot_count == 1 && m.slots[0].blocks[0].hdr.rows == 50);
    mo_obj_meta_dispose(&m);
    blob[2] = 4;
    mo_obj_where where;
    MO_ASSERT_RC(MO_EVERSION, mo_obj_meta_decode(&m, blob, me.origin_size, &where, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(where.field, "IOEntry.version");
    blob[2] = 3;
    blob[0] = 2;
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_meta_decode(&m, blob, me.origin_size, NULL, &mo_test_err));
    /* every truncation of the blob is rejected, never a crash */
    blob[0] = 1;
    for (uint32_t n = 0; n < me.origin_size; n++)
        CU_ASSERT(mo_obj_meta_decode(&m, blob, n, NULL, &mo_test_err) < 0);
    mo_buf_dispose(&f);
    mo_obj_colbuf_dispose(&c);
    mo_obj_writer_free(w);
}

static CU_TestInfo types_tests[] = {
    {"test_types__name_roundtrip", test_types__name_roundtrip},
    {"test_types__hostile_names", test_types__hostile_names},
    {"test_types__segid_v7", test_types__segid_v7},
    {"test_types__location", test_types__location},
    {"test_types__extent_ts_rowid", test_types__extent_ts_rowid},
    {"test_types__type_specs", test_types__type_specs},
    {"test_types__object_stats", test_types__object_stats},
    {"test_types__meta_versions", test_types__meta_versions},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_types_suites[] = {
    {"types", NULL, NULL, NULL, NULL, types_tests},
    CU_SUITE_INFO_NULL,
};

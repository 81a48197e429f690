#!/usr/bin/env python3
"""Seeds for fuzz_srv_protocol (input format in fuzz_srv_protocol.c): valid sessions for every
statement moupstream answers (spec ccpr-protocol.md §3, §2.1), the client commands, and the
hostile framings (huge length headers without a body, bad sequence ids, pipelining).

Usage: gen_srv_seeds.py OUTDIR. "@0".."@9" stand for the replica's objects (mode bit 3);
table ids are the generator's (5 = fz.item, with a secondary index at gen_13; 6 =
fz.kv_r2)."""
import os
import struct
import sys

POST, DEPRECATE_EOF, WITH_DB, EXPAND = 1, 2, 4, 8
COM_QUIT, COM_INIT_DB, COM_QUERY, COM_FIELD_LIST = 1, 2, 3, 4
COM_STATISTICS, COM_PING, COM_SET_OPTION, COM_RESET = 9, 0x0E, 0x1B, 0x1F


def rec(payload):
    """One framed packet (the harness writes the header, sequence 0)."""
    assert len(payload) < 0x8000
    return struct.pack("<H", len(payload)) + payload


def raw(b):
    """Bytes sent as they are (own headers)."""
    assert len(b) < 0x8000
    return struct.pack("<H", 0x8000 | len(b)) + b


def q(sql):
    return rec(bytes([COM_QUERY]) + sql.encode())


def hdr(n, seq):
    return struct.pack("<I", n)[:3] + bytes([seq])


def session(mode, *records):
    return bytes([mode | POST]) + b"".join(records)


def pre(*chunks):
    return bytes([0]) + b"".join(chunks)


def handshake_response(caps, login=b"root", token=b"\x00" * 20, db=None, plugin=None,
                       attrs=None):
    b = struct.pack("<IIB", caps, 1 << 24, 45) + b"\x00" * 23 + login + b"\x00"
    if caps & 0x00200000:  # PLUGIN_AUTH_LENENC
        b += bytes([len(token)]) + token
    elif caps & 0x00008000:  # SECURE_CONNECTION
        b += bytes([len(token)]) + token
    else:
        b += token + b"\x00"
    if db is not None:
        b += db + b"\x00"
    if plugin is not None:
        b += plugin + b"\x00"
    if attrs is not None:
        b += bytes([len(attrs)]) + attrs
    return b


BASE_CAPS = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x80000
PUB = "sys mosync"


def seeds():
    s = {}
    s["session_queries"] = session(
        0,
        q("select @@version_comment limit 1"),
        q("SELECT @@session.auto_increment_increment AS auto_increment_increment, "
          "@@character_set_client AS character_set_client, @@max_allowed_packet, "
          "@@global.sql_mode, @@local.time_zone, @@version LIMIT 1"),
        q("select @@nosuchvar"),
        q("SELECT DATABASE()"), q("select version()"), q("select user()"),
        q("select current_user()"), q("select connection_id()"), q("select 1;"),
        q("SET NAMES utf8mb4"), q("set autocommit=1"), q("begin"), q("commit"),
        q("rollback"), q("start transaction"), q("show warnings"), q("show errors"),
        q("use fz"), q("use `fz`"), q("SELECT DATABASE()"), q("select * from t"),
        rec(bytes([COM_QUIT])))
    s["commands"] = session(
        0, rec(bytes([COM_PING])), rec(bytes([COM_INIT_DB]) + b"fz"),
        rec(bytes([COM_INIT_DB]) + b"a\x00b"), rec(bytes([COM_INIT_DB]) + b"x" * 300),
        rec(bytes([COM_FIELD_LIST]) + b"t\x00"), rec(bytes([COM_STATISTICS])),
        rec(bytes([COM_SET_OPTION, 0, 0])), rec(bytes([COM_RESET])), rec(bytes([0x20])),
        rec(b""), rec(bytes([COM_PING])))
    s["iteration_account"] = session(
        EXPAND,
        q("CREATE SNAPSHOT IF NOT EXISTS `ccpr_0d9c_1` FOR ACCOUNT FROM sys PUBLICATION mosync"),
        q("CREATE SNAPSHOT IF NOT EXISTS `ccpr_0d9c_1` FOR ACCOUNT FROM sys PUBLICATION mosync"),
        q(f"__++__internal_get_snapshot_ts ccpr_0d9c_1 {PUB}"),
        q(f"__++__internal_get_snapshot_ts gen_1 {PUB}"),
        q(f"__++__internal_check_snapshot_flushed ccpr_0d9c_1 {PUB}"),
        q(f"__++__internal_get_databases ccpr_0d9c_1 {PUB} account - -"),
        q(f"__++__internal_get_ddl ccpr_0d9c_1 {PUB} account - -"),
        q(f"__++__internal_get_mo_indexes 1 {PUB} ccpr_0d9c_1"),
        q(f"__++__internal_get_mo_indexes 2 {PUB} -"),
        q(f"__++__internal_object_list ccpr_0d9c_1 - {PUB}"),
        q(f"__++__internal_object_list ccpr_0d9c_1 gen_2 {PUB}"),
        q(f"__++__internal_get_object {PUB} @0 0"),
        q(f"__++__internal_get_object {PUB} @0 1"),
        q(f"__++__internal_get_object {PUB} @0 2"),
        q("DROP SNAPSHOT IF EXISTS `ccpr_0d9c_1` FROM sys PUBLICATION mosync"))
    s["iteration_account_eof"] = bytes([s["iteration_account"][0] | DEPRECATE_EOF]) + \
        s["iteration_account"][1:]
    s["iteration_database"] = session(
        EXPAND | WITH_DB,
        q("CREATE SNAPSHOT IF NOT EXISTS `ccpr_db_1` FOR DATABASE fz FROM sys PUBLICATION mosync"),
        q(f"__++__internal_check_snapshot_flushed ccpr_db_1 {PUB}"),
        q(f"__++__internal_get_databases ccpr_db_1 {PUB} database fz -"),
        q(f"__++__internal_get_ddl ccpr_db_1 {PUB} database fz -"),
        q(f"__++__internal_object_list ccpr_db_1 gen_1 {PUB}"),
        q(f"__++__internal_get_object {PUB} @1 0"),
        q(f"__++__internal_get_object {PUB} @1 1"),
        q("DROP SNAPSHOT `ccpr_db_1` FROM sys PUBLICATION mosync"))
    s["iteration_table"] = session(
        EXPAND,
        q("CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_1` FOR TABLE fz kv_r2 FROM sys PUBLICATION p1"),
        q("__++__internal_get_snapshot_ts ccpr_t_1 sys p1"),
        q("__++__internal_get_ddl ccpr_t_1 sys p1 table fz kv_r2"),
        q("__++__internal_get_mo_indexes 6 sys p1 ccpr_t_1"),
        q("__++__internal_object_list ccpr_t_1 - sys p1"),
        q("__++__internal_get_object sys p1 @2 0"),
        q("__++__internal_get_object sys p1 @2 1"),
        q("DROP SNAPSHOT IF EXISTS `ccpr_t_1` FROM sys PUBLICATION p1"))
    s["create_time"] = session(
        0, q("SHOW PUBLICATION COVERAGE `mosync`"), q("show publication coverage p1"),
        q("SHOW PUBLICATION COVERAGE nopub"), q("show publication coverage `p2`"),
        q("__++__internal_get_ddl - sys p2 database fz -"),
        q(f"__++__internal_get_databases - {PUB} account - -"),
        q(f"__++__internal_get_ddl - {PUB} account - -"),
        q(f"__++__internal_get_ddl - {PUB} table fz kv"),
        q(f"__++__internal_get_ddl - {PUB} table fz nosuch"),
        q(f"__++__internal_get_mo_indexes 3 {PUB} -"),
        q(f"__++__internal_get_mo_indexes 4 {PUB} -"))
    s["history"] = session(
        EXPAND,
        q(f"__++__internal_object_list gen_20 gen_3 {PUB}"),
        q(f"__++__internal_object_list gen_10 - {PUB}"),
        q(f"__++__internal_get_ddl gen_5 {PUB} account - -"),
        q(f"__++__internal_get_databases gen_19 {PUB} account - -"),
        q(f"__++__internal_get_mo_indexes 5 {PUB} gen_13"),
        q(f"__++__internal_get_ddl gen_13 {PUB} database fz item"),
        q(f"__++__internal_check_snapshot_flushed gen_4 {PUB}"))
    s["snapshot_forms"] = session(
        0, q("create snapshot s1 for account"), q("create snapshot s1 for account"),
        q("create snapshot s2 for account sys"), q("create snapshot s3 for cluster"),
        q("create snapshot s4 for database fz"), q("create snapshot s5 for table fz kv"),
        q("create snapshot `we``ird` for database nodb"), q("create snapshot s6 for"),
        q("create snapshot if not exists s7 for account from sys publication nopub"),
        q("drop snapshot s1"), q("drop snapshot s1"), q("drop snapshot if exists s1"),
        q("drop snapshot gen_1"), q("drop snapshot s2;"), q("drop snapshot s4 from x y z"),
        q("drop snapshot s5"))
    long = "x" * 300
    s["errors"] = session(
        0, q("__++__internal_get_snapshot_ts a b"),
        q("__++__internal_check_snapshot_flushed a b c d"),
        q("__++__internal_get_databases a b c d e"), q("__++__internal_get_ddl a"),
        q("__++__internal_get_mo_indexes 1 2 3"), q("__++__internal_object_list a b c"),
        q("__++__internal_get_object a b c"),
        q(f"__++__internal_get_snapshot_ts {long} sys mosync"),
        q(f"__++__internal_get_mo_indexes {long} sys mosync -"),
        q("__++__internal_get_mo_indexes abc sys mosync -"),
        q("__++__internal_get_mo_indexes 99999999999999999999999 sys mosync -"),
        q(f"__++__internal_get_object {PUB} ../../../etc/passwd 1"),
        q(f"__++__internal_get_object {PUB} {long} 1"),
        q(f"__++__internal_get_object {PUB} 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b_00000 1"),
        q(f"__++__internal_get_object {PUB} x -1"),
        q(f"__++__internal_get_object {PUB} x 9223372036854775808"),
        q("__++__internal_get_snapshot_ts gen_1 other mosync"),
        q("__++__internal_get_snapshot_ts gen_1 sys nopub"),
        q("__++__INTERNAL_GET_SNAPSHOT_TS\u3000gen_1\u00a0sys\tmosync"),
        q("__++__internal_get_snapshot_ts nosnap sys mosync"))
    s["chunks"] = session(
        EXPAND, q(f"__++__internal_get_object {PUB} @3 -1"),
        q(f"__++__internal_get_object {PUB} @3 0"), q(f"__++__internal_get_object {PUB} @3 3"),
        q(f"__++__internal_get_object {PUB} @3 99999"),
        q("__++__internal_get_object sys p1 @4 1"), q(f"__++__internal_get_object {PUB} @5 +1"))
    s["pipelined_pings"] = session(0, *[rec(bytes([COM_PING]))] * 300)
    # hostile framing after login
    s["post_huge_header"] = session(0, raw(hdr(0xFFFFFF, 0)))
    s["post_4m_header_no_body"] = session(0, raw(hdr((4 << 20) - 1, 0)))
    s["post_over_4m_header"] = session(0, raw(hdr((4 << 20) + 1, 0)))
    s["post_bad_seq"] = session(0, raw(hdr(1, 5) + bytes([COM_PING])), rec(bytes([COM_PING])))
    s["post_truncated_packet"] = session(0, raw(hdr(40, 0) + b"\x03select 1"))
    s["post_empty_packet"] = session(0, raw(hdr(0, 0)), rec(bytes([COM_PING])))
    # before login
    good = handshake_response(BASE_CAPS | 0x100000 | 0x8, db=b"fz",
                              plugin=b"mysql_native_password",
                              attrs=b"\x0c_client_name\x07libmysql")
    s["pre_wrong_password"] = pre(hdr(len(good), 1), good)
    lenenc = handshake_response(BASE_CAPS | 0x200000, login=b"sys:root:moadmin",
                                plugin=b"mysql_native_password")
    s["pre_lenenc_role"] = pre(hdr(len(lenenc), 1), lenenc)
    sw = handshake_response(BASE_CAPS, login=b"acct%3Aroot", plugin=b"caching_sha2_password")
    s["pre_auth_switch"] = pre(hdr(len(sw), 1), sw, hdr(20, 3), b"\x01" * 20)
    old = handshake_response(0x1 | 0x200, login=b"sys#root", token=b"pw")
    s["pre_old_auth"] = pre(hdr(len(old), 1), old)
    s["pre_no_protocol41"] = pre(hdr(32, 1), struct.pack("<I", 0x1) + b"\x00" * 28)
    s["pre_ssl_request"] = pre(hdr(32, 1), struct.pack("<IIB", BASE_CAPS | 0x800, 1 << 24, 45),
                               b"\x00" * 23)
    s["pre_bad_seq"] = pre(hdr(len(good), 7), good)
    s["pre_huge_header"] = pre(hdr(0xFFFFFF, 1))
    s["pre_4m_header_no_body"] = pre(hdr((4 << 20) - 1, 1))
    s["pre_short"] = pre(hdr(6, 1), struct.pack("<I", BASE_CAPS) + b"\x00\x00")
    s["pre_empty"] = pre()
    return s


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

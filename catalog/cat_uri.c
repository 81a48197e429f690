/*
 * Connection strings of subscriptions (ccpr-protocol.md §1.4). mysql:// URIs are parsed like
 * MO's CREATE-time parser (exactly one '@', first '#' splits the account, first ':' splits
 * the password, host:port exactly two fields), a little stricter where MO is lax (port must
 * be 0..65535 decimal digits, host and user non-empty, no '/', '?', '[' in the host).
 * dir:///abs/path and bundle:///abs/file.tar name local sources. mysql:// URIs may carry
 * mosync's TLS parameters (?ssl-mode=...&ssl-ca=/abs/path), kept in the stored form.
 * Invariant: no error message ever quotes any part of the URI text, since it may hold a
 * password; formatting never prints the password (masked as *** or omitted).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mo/cat.h"

static int copy_part(char *dst, size_t cap, const char *s, size_t n, const char *what, mo_err *err)
{
    if (n >= cap)
        return mo_err_set(err, MO_EINVAL, "invalid URI: %s longer than %zu bytes", what, cap - 1);
    memcpy(dst, s, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return mo_err_set(err, MO_EINVAL, "invalid URI: control character in %s", what);
    return MO_OK;
}

static int parse_path(mo_cat_uri *out, const char *p, const char *scheme, mo_err *err)
{
    if (p[0] != '/')
        return mo_err_set(err, MO_EINVAL,
                          "invalid URI: %s:// needs an absolute path (%s:///abs/path)", scheme,
                          scheme);
    snprintf(out->scheme, sizeof(out->scheme), "%s", scheme);
    return copy_part(out->path, sizeof(out->path), p, strlen(p), "path", err);
}

/* "ssl-mode=M&ssl-ca=/abs/path" (either, any order) */
static int parse_tls(mo_cat_uri *out, const char *p, mo_err *err)
{
    static const char *const modes[] = {"disabled", "preferred", "required", "verify_ca",
                                        "verify_identity"};
    while (*p) {
        const size_t kl = strcspn(p, "&");
        const char *eq = memchr(p, '=', kl);
        const char *v = eq ? eq + 1 : p + kl;
        const size_t vl = (size_t)(p + kl - v);
        int rc;
        if (eq && eq - p == 8 && !memcmp(p, "ssl-mode", 8)) {
            size_t i = 0;
            while (i < 5 && (strlen(modes[i]) != vl || strncasecmp(v, modes[i], vl)))
                i++;
            if (i == 5)
                return mo_err_set(err, MO_EINVAL,
                                  "invalid URI: ssl-mode wants disabled, preferred, required, "
                                  "verify_ca or verify_identity");
            snprintf(out->ssl_mode, sizeof(out->ssl_mode), "%s", modes[i]);
        } else if (eq && eq - p == 6 && !memcmp(p, "ssl-ca", 6)) {
            if (!vl || v[0] != '/' || memchr(v, '@', vl) || memchr(v, '#', vl))
                return mo_err_set(err, MO_EINVAL, "invalid URI: ssl-ca wants an absolute path "
                                                  "without '@', '#' or '&'");
            if ((rc = copy_part(out->ssl_ca, sizeof(out->ssl_ca), v, vl, "ssl-ca", err)) < 0)
                return rc;
        } else {
            return mo_err_set(err, MO_EINVAL,
                              "invalid URI: the only parameters are ssl-mode and ssl-ca");
        }
        p += kl + (p[kl] == '&');
    }
    return MO_OK;
}

int mo_cat_uri_parse(mo_cat_uri *out, const char *s, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!strncmp(s, "dir://", 6))
        return parse_path(out, s + 6, "dir", err);
    if (!strncmp(s, "bundle://", 9))
        return parse_path(out, s + 9, "bundle", err);
    if (strncmp(s, "mysql://", 8))
        return mo_err_set(err, MO_EINVAL,
                          "invalid URI: must start with mysql://, dir:// or "
                          "bundle://");
    const char *rest = s + 8;
    const char *at = strchr(rest, '@');
    if (!at)
        return mo_err_set(err, MO_EINVAL, "invalid URI: missing '@' before host:port");
    if (strchr(at + 1, '@'))
        return mo_err_set(err, MO_EINVAL,
                          "invalid URI: more than one '@' (an '@' in the password is not "
                          "supported, as in MO)");
    const char *cred = rest, *cred_end = at;
    const char *hash = memchr(cred, '#', (size_t)(cred_end - cred));
    int rc;
    if (hash) {
        if ((rc = copy_part(out->account, sizeof(out->account), cred, (size_t)(hash - cred),
                            "account", err)) < 0)
            return rc;
        cred = hash + 1;
    }
    const char *colon = memchr(cred, ':', (size_t)(cred_end - cred));
    if (!colon)
        return mo_err_set(err, MO_EINVAL, "invalid URI: missing ':password' after the user");
    if (colon == cred)
        return mo_err_set(err, MO_EINVAL, "invalid URI: empty user");
    if ((rc = copy_part(out->user, sizeof(out->user), cred, (size_t)(colon - cred), "user", err)) <
            0 ||
        (rc = copy_part(out->password, sizeof(out->password), colon + 1,
                        (size_t)(cred_end - colon - 1), "password", err)) < 0)
        goto fail;
    const char *hp = at + 1;
    const char *pc = strchr(hp, ':');
    if (!pc) {
        rc = mo_err_set(err, MO_EINVAL, "invalid URI: missing ':port' after the host");
        goto fail;
    }
    const char *hp_end = pc + 1 + strcspn(pc + 1, "?"); /* the TLS parameters follow '?' */
    if (memchr(pc + 1, ':', (size_t)(hp_end - pc - 1)) || memchr(hp, '[', (size_t)(hp_end - hp))) {
        rc = mo_err_set(err, MO_EINVAL,
                        "invalid URI: host:port must be exactly two fields (IPv6 hosts are not "
                        "supported, as in MO)");
        goto fail;
    }
    if (pc == hp) {
        rc = mo_err_set(err, MO_EINVAL, "invalid URI: empty host");
        goto fail;
    }
    for (const char *q = hp; q < pc; q++)
        if (*q == '/' || *q == '?' || *q == ' ' || *q == '\\' || *q == ']') {
            rc = mo_err_set(err, MO_EINVAL, "invalid URI: bad character '%c' in the host", *q);
            goto fail;
        }
    if ((rc = copy_part(out->host, sizeof(out->host), hp, (size_t)(pc - hp), "host", err)) < 0)
        goto fail;
    const char *port = pc + 1;
    const char *q = *hp_end ? hp_end : NULL;
    if (q && (rc = parse_tls(out, q + 1, err)) < 0)
        goto fail;
    unsigned long v = 0;
    size_t nd = 0;
    for (; port[nd] && port + nd != q; nd++) {
        if (port[nd] < '0' || port[nd] > '9') {
            rc = mo_err_set(err, MO_EINVAL,
                            "invalid URI: the port must be decimal digits only (no /db, no "
                            "?params)");
            goto fail;
        }
        v = v * 10 + (unsigned long)(port[nd] - '0');
        if (v > 65535) {
            rc = mo_err_set(err, MO_EINVAL, "invalid URI: port out of range 0..65535");
            goto fail;
        }
    }
    if (nd == 0) {
        rc = mo_err_set(err, MO_EINVAL, "invalid URI: empty port");
        goto fail;
    }
    out->port = (uint16_t)v;
    snprintf(out->scheme, sizeof(out->scheme), "mysql");
    return MO_OK;
fail:
    /* never leave a password behind in a struct the caller thinks is empty */
    memset(out, 0, sizeof(*out));
    return rc;
}

void mo_cat_uri_format(char *out, size_t cap, const mo_cat_uri *u, bool mask)
{
    if (!cap)
        return;
    if (!strcmp(u->scheme, "dir") || !strcmp(u->scheme, "bundle")) {
        snprintf(out, cap, "%s://%s", u->scheme, u->path);
        return;
    }
    snprintf(out, cap, "mysql://%s%s%s%s@%s:%u%s%s%s%s%s", u->account, u->account[0] ? "#" : "",
             u->user, mask ? ":***" : "", u->host, (unsigned)u->port,
             u->ssl_mode[0] || u->ssl_ca[0] ? "?" : "", u->ssl_mode[0] ? "ssl-mode=" : "",
             u->ssl_mode, u->ssl_ca[0] ? (u->ssl_mode[0] ? "&ssl-ca=" : "ssl-ca=") : "",
             u->ssl_ca);
}

/* Publications of the upstream emulator's backends: a list of (account, name) -> scope
 * entries, plus the implicit "sys.mosync over everything" used when none is configured.
 * Shared by the directory and catalog backends. */
#include <string.h>

#include "srv_int.h"

void mo_srv__pubset_init(mo_srv__pubset *s)
{
    memset(s, 0, sizeof(*s));
    s->all_entry.db = "*";
    s->all_entry.table = NULL;
    s->all_pub.account = "sys";
    s->all_pub.name = "mosync";
    s->all_pub.account_list = "all";
    s->all_pub.entries = &s->all_entry;
    s->all_pub.n_entries = 1;
}

int mo_srv__pubset_add(mo_srv__pubset *s, const char *account, const char *name, const char *db,
                       const char *table, mo_err *err)
{
    mo_srv__pubset_pub *p = NULL;
    for (size_t i = 0; i < s->npubs; i++)
        if (!strcmp(s->pubs[i].account, account) && !strcmp(s->pubs[i].name, name))
            p = &s->pubs[i];
    if (!p) {
        mo_srv__pubset_pub *np = mo_realloc(s->pubs, (s->npubs + 1) * sizeof(*np));
        if (!np)
            return mo_err_set(err, MO_ENOMEM, "publish: out of memory");
        s->pubs = np;
        p = &s->pubs[s->npubs];
        memset(p, 0, sizeof(*p));
        p->account = mo_strdup(account);
        p->name = mo_strdup(name);
        s->npubs++;
        if (!p->account || !p->name)
            return mo_err_set(err, MO_ENOMEM, "publish: out of memory");
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        mo_srv_pub_entry *ne = mo_realloc(p->entries, cap * sizeof(*ne));
        if (!ne)
            return mo_err_set(err, MO_ENOMEM, "publish: out of memory");
        p->entries = ne;
        p->cap = cap;
    }
    mo_srv_pub_entry *e = &p->entries[p->n];
    e->db = mo_strdup(db);
    e->table = table ? mo_strdup(table) : NULL;
    if (!e->db || (table && !e->table)) {
        mo_free((char *)e->db);
        mo_free((char *)e->table);
        return mo_err_set(err, MO_ENOMEM, "publish: out of memory");
    }
    p->n++;
    for (size_t i = 0; i < s->npubs; i++) { /* entries may have moved: refresh every view */
        mo_srv__pubset_pub *q = &s->pubs[i];
        q->pub.account = q->account;
        q->pub.name = q->name;
        q->pub.account_list = "all";
        q->pub.entries = q->entries;
        q->pub.n_entries = q->n;
    }
    return MO_OK;
}

int mo_srv__pubset_find(const mo_srv__pubset *s, const mo_srv_pub **out, const char *account,
                        const char *name, mo_err *err)
{
    if (!s->npubs && (!account || !strcmp(account, "sys")) && !strcmp(name, "mosync")) {
        *out = &s->all_pub;
        return MO_OK;
    }
    for (size_t i = 0; i < s->npubs; i++)
        if ((!account || !strcmp(account, s->pubs[i].account)) && !strcmp(name, s->pubs[i].name)) {
            *out = &s->pubs[i].pub;
            return MO_OK;
        }
    return mo_err_set(err, MO_ENOTFOUND, "publication %s.%s does not exist",
                      account ? account : "?", name);
}

void mo_srv__pubset_dispose(mo_srv__pubset *s)
{
    for (size_t i = 0; i < s->npubs; i++) {
        for (size_t k = 0; k < s->pubs[i].n; k++) {
            mo_free((char *)s->pubs[i].entries[k].db);
            mo_free((char *)s->pubs[i].entries[k].table);
        }
        mo_free(s->pubs[i].entries);
        mo_free(s->pubs[i].account);
        mo_free(s->pubs[i].name);
    }
    mo_free(s->pubs);
    s->pubs = NULL;
    s->npubs = 0;
}

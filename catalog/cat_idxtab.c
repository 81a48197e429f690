/* Hidden secondary-index tables: their schema derived from the parent table (index-table
 * schemas are never transmitted, ccpr-protocol.md §5.13), and the parent link kept in the
 * CREATE text's comment so that no new catalog row kind is needed. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mo/base.h"
#include "mo/cat.h"

#define LINK_FMT "mosync index table: parent=%" PRIu64 " index=%s upstream=%s"

void mo_cat_type_sql(char *out, size_t cap, const mo_obj_type *t)
{
    const char *u = "";
    switch (t->oid) {
    case MO_T_UINT8: case MO_T_UINT16: case MO_T_UINT32: case MO_T_UINT64:
        u = " unsigned";
        break;
    default:
        break;
    }
    switch (t->oid) {
    case MO_T_BOOL: snprintf(out, cap, "bool"); break;
    case MO_T_INT8: case MO_T_UINT8: snprintf(out, cap, "tinyint%s", u); break;
    case MO_T_INT16: case MO_T_UINT16: snprintf(out, cap, "smallint%s", u); break;
    case MO_T_INT32: case MO_T_UINT32: snprintf(out, cap, "int%s", u); break;
    case MO_T_INT64: case MO_T_UINT64: snprintf(out, cap, "bigint%s", u); break;
    case MO_T_FLOAT32: snprintf(out, cap, "float"); break;
    case MO_T_FLOAT64: snprintf(out, cap, "double"); break;
    case MO_T_DECIMAL64: case MO_T_DECIMAL128:
        snprintf(out, cap, "decimal(%d,%d)", (int)t->width, (int)t->scale);
        break;
    case MO_T_DATE: snprintf(out, cap, "date"); break;
    case MO_T_TIME: case MO_T_DATETIME: case MO_T_TIMESTAMP: {
        const char *n = t->oid == MO_T_TIME       ? "time"
                        : t->oid == MO_T_DATETIME ? "datetime"
                                                  : "timestamp";
        if (t->scale > 0)
            snprintf(out, cap, "%s(%d)", n, (int)t->scale);
        else
            snprintf(out, cap, "%s", n);
        break;
    }
    case MO_T_CHAR: snprintf(out, cap, "char(%d)", (int)t->width); break;
    case MO_T_VARCHAR: snprintf(out, cap, "varchar(%d)", (int)t->width); break;
    case MO_T_BINARY: snprintf(out, cap, "binary(%d)", (int)t->width); break;
    case MO_T_VARBINARY: snprintf(out, cap, "varbinary(%d)", (int)t->width); break;
    case MO_T_TEXT: snprintf(out, cap, "text"); break;
    case MO_T_BLOB: snprintf(out, cap, "blob"); break;
    case MO_T_UUID: snprintf(out, cap, "uuid"); break;
    default: snprintf(out, cap, "?"); break;
    }
}

bool mo_cat_is_index_table(const char *name)
{
    return !strncmp(name, MO_CAT_INDEX_PREFIX, sizeof(MO_CAT_INDEX_PREFIX) - 1);
}

/* names end up inside a quoted comment and between backquotes */
static bool plain_name(const char *s)
{
    if (!*s || strlen(s) >= MO_CAT_NAME_MAX)
        return false;
    for (; *s; s++)
        if (*s == '\'' || *s == '`' || *s == '\\' || *s == ' ' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

int mo_cat_index_table_make(mo_cat_table *out, const mo_cat_table *parent, uint64_t parent_id,
                            const char *name, const char *index_name, const char *up_name,
                            mo_err *err)
{
    memset(out, 0, sizeof(*out));
    out->pk_col = out->sort_col = -1;
    if (!mo_cat_is_index_table(name) || !plain_name(name) || !plain_name(index_name) ||
        !plain_name(up_name))
        return mo_err_set(err, MO_EINVAL, "index table '%.64s' of index '%.64s': bad name", name,
                          index_name);
    if (parent->pk_col < 0 || parent->pk_col >= (int)parent->ncols)
        return mo_err_set(err, MO_EINVAL, "index %s on %s.%s: the table has no primary key column",
                          index_name, parent->db, parent->name);
    if (!(out->cols = mo_calloc(2, sizeof(*out->cols))))
        return mo_err_set(err, MO_ENOMEM, "index table columns");
    out->ncols = 2;
    mo_cat_col *k = &out->cols[0], *p = &out->cols[1];
    snprintf(k->name, sizeof(k->name), "__mo_index_idx_col");
    k->type = mo_obj_type_default(MO_T_VARCHAR);
    k->type.width = 65535; /* a packed tuple: MaxVarcharLen, binary charset, as hidden keys */
    k->type.charset = 1;
    k->seqnum = 0;
    k->not_null = true;
    snprintf(p->name, sizeof(p->name), "__mo_index_pri_col");
    p->type = parent->cols[parent->pk_col].type;
    p->seqnum = 1;
    p->not_null = true;
    out->pk_col = out->sort_col = 0;
    out->real_pk = true;
    snprintf(out->db, sizeof(out->db), "%s", parent->db);
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->down_db_id = parent->down_db_id;
    char ty[64];
    mo_cat_type_sql(ty, sizeof(ty), &p->type);
#define INDEX_SQL                                                                              \
    "CREATE TABLE `%s` (\n  `__mo_index_idx_col` varchar(65535) NOT NULL,\n"                  \
    "  `__mo_index_pri_col` %s NOT NULL,\n  PRIMARY KEY (`__mo_index_idx_col`)\n) COMMENT='" \
    LINK_FMT "'"
    const int n = snprintf(NULL, 0, INDEX_SQL, name, ty, parent_id, index_name, up_name);
    if (n < 0 || !(out->create_sql = mo_malloc((size_t)n + 1))) {
        mo_cat_table_dispose(out);
        return mo_err_set(err, MO_ENOMEM, "index table text");
    }
    snprintf(out->create_sql, (size_t)n + 1, INDEX_SQL, name, ty, parent_id, index_name, up_name);
    return MO_OK;
}

int mo_cat_index_table_link(const char *name, const char *create_sql, mo_cat_index_link *out)
{
    memset(out, 0, sizeof(*out));
    const char *c = create_sql && mo_cat_is_index_table(name)
                        ? strstr(create_sql, "COMMENT='mosync index table: ")
                        : NULL;
    if (!c)
        return MO_ENOTFOUND;
    c += strlen("COMMENT='");
    char ix[MO_CAT_NAME_MAX], up[MO_CAT_NAME_MAX];
    uint64_t id;
    int used = 0;
    /* names are plain (no quote, space or backslash): %255[^ '] cannot overrun */
    if (sscanf(c, "mosync index table: parent=%" SCNu64 " index=%255[^ '] upstream=%255[^ ']%n",
               &id, ix, up, &used) != 3 ||
        c[used] != '\'')
        return MO_ENOTFOUND;
    out->parent_id = id;
    snprintf(out->index_name, sizeof(out->index_name), "%s", ix);
    snprintf(out->up_name, sizeof(out->up_name), "%s", up);
    return MO_OK;
}

/*
 * registry - every table type postern supports, keyed by its type name.
 * Adding a type: one new file defining its struct table_type, one line here.
 */
#include <string.h>

#include "table/table.h"

extern const struct table_type table_type_hash, table_type_btree, table_type_lmdb;
extern const struct table_type table_type_texthash, table_type_cidr, table_type_regexp;
extern const struct table_type table_type_pcre, table_type_inline, table_type_static;
extern const struct table_type table_type_fail, table_type_unionmap, table_type_pipemap;

/* Sorted by name, as `postern conf -m` lists them. */
static const struct table_type *const types[] = {
    &table_type_btree,  &table_type_cidr,   &table_type_fail,     &table_type_hash,
    &table_type_inline, &table_type_lmdb,   &table_type_pcre,     &table_type_pipemap,
    &table_type_regexp, &table_type_static, &table_type_texthash, &table_type_unionmap,
};

const struct table_type *table_type_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(types); i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

void table_type_names(struct strlist *out)
{
    for (size_t i = 0; i < ARRAY_LEN(types); i++)
        strlist_add(out, types[i]->name);
}

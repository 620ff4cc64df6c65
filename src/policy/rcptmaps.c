/*
 * rcptmaps - is this a known user?  reject_unlisted_recipient /
 * reject_unlisted_sender and the implicit checks at the end of the
 * recipient (smtpd_reject_unlisted_recipient, default yes) and sender
 * stages: canonical and virtual alias maps accept; virtual alias domains
 * without a matching alias reject; local, virtual mailbox and relay
 * domains consult their recipient tables when those are set.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

static int match_maps(struct eval *e, struct table **maps, size_t n, const char *key,
                      const char *reply_name, bool *matched)
{
    const char *v;
    enum table_status st = mail_addr_find(e, maps, n, key, &v);
    *matched = st == TABLE_FOUND;
    if (st == TABLE_FOUND || st == TABLE_NOTFOUND)
        return CHECK_DUNNO;
    return st == TABLE_TEMPFAIL ? reject_dict_retry(e, reply_name) : reject_server_error(e);
}

static bool local_part_is(const char *addr, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(addr, name, n) == 0 && addr[n] == '@';
}

int check_rcpt_maps(struct eval *e, const char *recipient, const char *reply_class)
{
    struct policy *p = e->p;
    struct resolved res;
    if (resolve_address(p, recipient, &res) == -1) {
        resolved_free(&res);
        return reject_dict_retry(e, recipient);
    }
    const char *rcpt = res.recipient;
    bool sender = strcmp(reply_class, CLASS_SENDER) == 0;
    bool m;
    int status;
#define MATCH(maps, n)                                        \
    do {                                                      \
        status = match_maps(e, maps, n, rcpt, recipient, &m); \
        if (status != CHECK_DUNNO)                            \
            goto done;                                        \
    } while (0)

    status = CHECK_DUNNO;
    MATCH(p->recipient_canonical_maps, p->n_recipient_canonical_maps);
    if (m)
        goto done;
    MATCH(p->canonical_maps, p->n_canonical_maps);
    if (m)
        goto done;
    MATCH(p->virtual_alias_maps, p->n_virtual_alias_maps);
    if (m)
        goto done;
    if (res.flags & RESOLVE_CLASS_ALIAS) {
        char dsnbuf[16];
        status = check_reject(e, ERR_BOUNCE, p->unknown_virtual_alias_reject_code,
                              dsn_fix_logged(e, "5.1.1", reply_class, dsnbuf),
                              "<%s>: %s rejected: %s", recipient, reply_class, res.error_text);
        goto done;
    }
    switch (res.flags & RESOLVE_CLASS_MASK) {
    case RESOLVE_CLASS_LOCAL:
        if (!p->has_local_recipient_maps || local_part_is(rcpt, p->double_bounce_sender) ||
            local_part_is(rcpt, "postmaster") || local_part_is(rcpt, "mailer-daemon"))
            break;
        MATCH(p->local_recipient_maps, p->n_local_recipient_maps);
        if (!m)
            status = check_reject(e, ERR_BOUNCE, p->unknown_local_recipient_reject_code,
                                  sender ? "5.1.0" : "5.1.1", "<%s>: %s rejected: User unknown%s",
                                  recipient, reply_class,
                                  p->show_unknown_table ? " in local recipient table" : "");
        break;
    case RESOLVE_CLASS_VIRTUAL:
        if (!p->has_virtual_mailbox_maps)
            break;
        MATCH(p->virtual_mailbox_maps, p->n_virtual_mailbox_maps);
        if (!m)
            status = check_reject(e, ERR_BOUNCE, p->unknown_virtual_mailbox_reject_code,
                                  sender ? "5.1.0" : "5.1.1", "<%s>: %s rejected: User unknown%s",
                                  recipient, reply_class,
                                  p->show_unknown_table ? " in virtual mailbox table" : "");
        break;
    case RESOLVE_CLASS_RELAY:
        if (!p->has_relay_recipient_maps)
            break;
        MATCH(p->relay_recipient_maps, p->n_relay_recipient_maps);
        if (!m)
            status = check_reject(e, ERR_BOUNCE, p->unknown_relay_recipient_reject_code,
                                  sender ? "5.1.0" : "5.1.1", "<%s>: %s rejected: User unknown%s",
                                  recipient, reply_class,
                                  p->show_unknown_table ? " in relay recipient table" : "");
        break;
    default: break;
    }
done:
    resolved_free(&res);
    return status;
#undef MATCH
}

int check_sender_rcpt_maps(struct eval *e, const char *sender)
{
    if (e->s->st.sender_rcptmap_checked)
        return CHECK_DUNNO;
    if (e->warn_if_reject == 0)
        e->s->st.sender_rcptmap_checked = true;
    return check_rcpt_maps(e, sender, CLASS_SENDER);
}

int check_recipient_rcpt_maps(struct eval *e, const char *recipient)
{
    if (e->s->st.recipient_rcptmap_checked)
        return CHECK_DUNNO;
    if (e->warn_if_reject == 0)
        e->s->st.recipient_rcptmap_checked = true;
    return check_rcpt_maps(e, recipient, CLASS_RECIPIENT);
}

/*
 * restrictions - the name of every restriction postern understands (Postfix
 * 3.7's, plus their old aliases), what argument it takes, and the first
 * protocol stage at which the fact it tests exists (used by `postern
 * lint`).  Names are matched without regard to case, as Postfix does.
 */
#include <strings.h>

#include "policy/policy_int.h"

#define C POLICY_LIST_CLIENT
#define H POLICY_LIST_HELO
#define S POLICY_LIST_SENDER
#define R POLICY_LIST_RECIPIENT
#define D POLICY_LIST_DATA
#define E POLICY_LIST_ETRN

static const struct restriction_info table[] = {
    /* generic */
    {"permit", R_PERMIT, ARG_NONE, C},
    {"defer", R_DEFER, ARG_NONE, C},
    {"reject", R_REJECT, ARG_NONE, C},
    {"warn_if_reject", R_WARN_IF_REJECT, ARG_NONE, C},
    {"reject_unauth_pipelining", R_REJECT_UNAUTH_PIPELINING, ARG_NONE, C},
    {"check_policy_service", R_CHECK_POLICY_SERVICE, ARG_SERVICE, C},
    {"defer_if_permit", R_DEFER_IF_PERMIT, ARG_NONE, C},
    {"defer_if_reject", R_DEFER_IF_REJECT, ARG_NONE, C},
    {"sleep", R_SLEEP, ARG_NUMBER, C},
    {"reject_plaintext_session", R_REJECT_PLAINTEXT_SESSION, ARG_NONE, C},
    {"reject_multi_recipient_bounce", R_REJECT_MULTI_RECIPIENT_BOUNCE, ARG_NONE, R},
    /* client */
    {"reject_unknown_client_hostname", R_REJECT_UNKNOWN_CLIENT_HOSTNAME, ARG_NONE, C},
    {"reject_unknown_client", R_REJECT_UNKNOWN_CLIENT_HOSTNAME, ARG_NONE, C},
    {"reject_unknown_reverse_client_hostname", R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME, ARG_NONE,
     C},
    {"permit_inet_interfaces", R_PERMIT_INET_INTERFACES, ARG_NONE, C},
    {"permit_mynetworks", R_PERMIT_MYNETWORKS, ARG_NONE, C},
    {"check_client_access", R_CHECK_CLIENT_ACCESS, ARG_TABLE, C},
    {"check_reverse_client_hostname_access", R_CHECK_REVERSE_CLIENT_ACCESS, ARG_TABLE, C},
    {"reject_maps_rbl", R_REJECT_MAPS_RBL, ARG_NONE, C},
    {"reject_rbl_client", R_REJECT_RBL_CLIENT, ARG_DOMAIN, C},
    {"reject_rbl", R_REJECT_RBL_CLIENT, ARG_DOMAIN, C},
    {"permit_dnswl_client", R_PERMIT_DNSWL_CLIENT, ARG_DOMAIN, C},
    {"reject_rhsbl_client", R_REJECT_RHSBL_CLIENT, ARG_DOMAIN, C},
    {"permit_rhswl_client", R_PERMIT_RHSWL_CLIENT, ARG_DOMAIN, C},
    {"reject_rhsbl_reverse_client", R_REJECT_RHSBL_REVERSE_CLIENT, ARG_DOMAIN, C},
    {"check_ccert_access", R_CHECK_CCERT_ACCESS, ARG_TABLE, C},
    {"check_sasl_access", R_CHECK_SASL_ACCESS, ARG_TABLE, C},
    {"check_client_ns_access", R_CHECK_CLIENT_NS_ACCESS, ARG_TABLE, C},
    {"check_client_mx_access", R_CHECK_CLIENT_MX_ACCESS, ARG_TABLE, C},
    {"check_client_a_access", R_CHECK_CLIENT_A_ACCESS, ARG_TABLE, C},
    {"check_reverse_client_hostname_ns_access", R_CHECK_REVERSE_CLIENT_NS_ACCESS, ARG_TABLE, C},
    {"check_reverse_client_hostname_mx_access", R_CHECK_REVERSE_CLIENT_MX_ACCESS, ARG_TABLE, C},
    {"check_reverse_client_hostname_a_access", R_CHECK_REVERSE_CLIENT_A_ACCESS, ARG_TABLE, C},
    {"permit_sasl_authenticated", R_PERMIT_SASL_AUTHENTICATED, ARG_NONE, C},
    {"permit_tls_all_clientcerts", R_PERMIT_TLS_ALL_CLIENTCERTS, ARG_NONE, C},
    {"permit_tls_clientcerts", R_PERMIT_TLS_CLIENTCERTS, ARG_NONE, C},
    /* helo */
    {"check_helo_access", R_CHECK_HELO_ACCESS, ARG_TABLE, H},
    {"reject_invalid_helo_hostname", R_REJECT_INVALID_HELO_HOSTNAME, ARG_NONE, H},
    {"reject_invalid_hostname", R_REJECT_INVALID_HELO_HOSTNAME, ARG_NONE, H},
    {"reject_unknown_helo_hostname", R_REJECT_UNKNOWN_HELO_HOSTNAME, ARG_NONE, H},
    {"reject_unknown_hostname", R_REJECT_UNKNOWN_HELO_HOSTNAME, ARG_NONE, H},
    {"permit_naked_ip_address", R_PERMIT_NAKED_IP_ADDRESS, ARG_NONE, H},
    {"check_helo_ns_access", R_CHECK_HELO_NS_ACCESS, ARG_TABLE, H},
    {"check_helo_mx_access", R_CHECK_HELO_MX_ACCESS, ARG_TABLE, H},
    {"check_helo_a_access", R_CHECK_HELO_A_ACCESS, ARG_TABLE, H},
    {"reject_non_fqdn_helo_hostname", R_REJECT_NON_FQDN_HELO_HOSTNAME, ARG_NONE, H},
    {"reject_non_fqdn_hostname", R_REJECT_NON_FQDN_HELO_HOSTNAME, ARG_NONE, H},
    {"reject_rhsbl_helo", R_REJECT_RHSBL_HELO, ARG_DOMAIN, H},
    /* sender */
    {"check_sender_access", R_CHECK_SENDER_ACCESS, ARG_TABLE, S},
    {"reject_unknown_sender_domain", R_REJECT_UNKNOWN_SENDER_DOMAIN, ARG_NONE, S},
    {"reject_unknown_address", R_REJECT_UNKNOWN_SENDER_DOMAIN, ARG_NONE, S},
    {"reject_unverified_sender", R_REJECT_UNVERIFIED_SENDER, ARG_NONE, S},
    {"reject_non_fqdn_sender", R_REJECT_NON_FQDN_SENDER, ARG_NONE, S},
    {"reject_authenticated_sender_login_mismatch", R_REJECT_AUTH_SENDER_LOGIN_MISMATCH, ARG_NONE,
     S},
    {"reject_known_sender_login_mismatch", R_REJECT_KNOWN_SENDER_LOGIN_MISMATCH, ARG_NONE, S},
    {"reject_unauthenticated_sender_login_mismatch", R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH,
     ARG_NONE, S},
    {"reject_sender_login_mismatch", R_REJECT_SENDER_LOGIN_MISMATCH, ARG_NONE, S},
    {"check_sender_ns_access", R_CHECK_SENDER_NS_ACCESS, ARG_TABLE, S},
    {"check_sender_mx_access", R_CHECK_SENDER_MX_ACCESS, ARG_TABLE, S},
    {"check_sender_a_access", R_CHECK_SENDER_A_ACCESS, ARG_TABLE, S},
    {"reject_rhsbl_sender", R_REJECT_RHSBL_SENDER, ARG_DOMAIN, S},
    {"reject_unlisted_sender", R_REJECT_UNLISTED_SENDER, ARG_NONE, S},
    /* recipient */
    {"check_recipient_access", R_CHECK_RECIPIENT_ACCESS, ARG_TABLE, R},
    {"permit_mx_backup", R_PERMIT_MX_BACKUP, ARG_NONE, R},
    {"permit_auth_destination", R_PERMIT_AUTH_DESTINATION, ARG_NONE, R},
    {"reject_unauth_destination", R_REJECT_UNAUTH_DESTINATION, ARG_NONE, R},
    {"defer_unauth_destination", R_DEFER_UNAUTH_DESTINATION, ARG_NONE, R},
    {"check_relay_domains", R_CHECK_RELAY_DOMAINS, ARG_NONE, R},
    {"reject_unknown_recipient_domain", R_REJECT_UNKNOWN_RECIPIENT_DOMAIN, ARG_NONE, R},
    {"reject_non_fqdn_recipient", R_REJECT_NON_FQDN_RECIPIENT, ARG_NONE, R},
    {"check_recipient_ns_access", R_CHECK_RECIPIENT_NS_ACCESS, ARG_TABLE, R},
    {"check_recipient_mx_access", R_CHECK_RECIPIENT_MX_ACCESS, ARG_TABLE, R},
    {"check_recipient_a_access", R_CHECK_RECIPIENT_A_ACCESS, ARG_TABLE, R},
    {"reject_rhsbl_recipient", R_REJECT_RHSBL_RECIPIENT, ARG_DOMAIN, R},
    {"reject_unlisted_recipient", R_REJECT_UNLISTED_RECIPIENT, ARG_NONE, R},
    {"check_recipient_maps", R_REJECT_UNLISTED_RECIPIENT, ARG_NONE, R},
    {"reject_unverified_recipient", R_REJECT_UNVERIFIED_RECIPIENT, ARG_NONE, R},
    /* etrn */
    {"check_etrn_access", R_CHECK_ETRN_ACCESS, ARG_TABLE, E},
};

const struct restriction_info *restriction_lookup(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(table); i++)
        if (strcasecmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const struct restriction_info *restriction_by_kind(enum restriction_kind kind)
{
    for (size_t i = 0; i < ARRAY_LEN(table); i++)
        if (table[i].kind == kind)
            return &table[i];
    return NULL;
}

const struct restriction_info *restriction_table(size_t *count)
{
    *count = ARRAY_LEN(table);
    return table;
}

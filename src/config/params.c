/*
 * params - the parameter registry: every main.cf parameter postern knows,
 * with its type, its Postfix 3.7 default (from `postconf -d` on Debian 12,
 * except where a comment in docs/parameters.md says otherwise), flags and one
 * line of documentation.  Sorted by name (strcmp) for bsearch; the unit test
 * checks the order.  Computed defaults (myhostname, mydomain, mynetworks)
 * are worked out here at run time, as Postfix does.
 *
 * A Postfix parameter that postern accepts but does not act on carries
 * PARAM_F_NOEFFECT, and `postern conf -d` says so; parameters postern adds
 * carry PARAM_F_POSTERN and their names start with "postern_".
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"

static const struct param_def registry[] = {
    {"2bounce_notice_recipient", PARAM_STRING, "postmaster", PARAM_F_NOEFFECT, 0, 0, 0,
     "Who gets a notice when a bounce cannot itself be delivered (notify_classes \"2bounce\")."},
    {"access_map_defer_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code for DEFER, DEFER_IF_PERMIT and DEFER_IF_REJECT results from access tables."},
    {"access_map_reject_code", PARAM_INT, "554", 0, 0, 400, 599,
     "Reply code for REJECT results from access tables."},
    {"address_verify_cache_cleanup_interval", PARAM_TIME, "12h", PARAM_F_NOEFFECT, 'h', 0, 0,
     "How often the address verification cache is swept of stale entries (0 = never)."},
    {"address_verify_default_transport", PARAM_STRING, "$default_transport", PARAM_F_NOEFFECT, 0, 0,
     0, "default_transport used for address verification probes."},
    {"address_verify_local_transport", PARAM_STRING, "$local_transport", PARAM_F_NOEFFECT, 0, 0, 0,
     "local_transport used for address verification probes."},
    {"address_verify_map", PARAM_STRING, "btree:$data_directory/verify_cache", PARAM_F_NOEFFECT, 0,
     0, 0, "Persistent table where address verification results are cached."},
    {"address_verify_negative_cache", PARAM_BOOL, "yes", PARAM_F_NOEFFECT, 0, 0, 0,
     "Remember failed verification results as well as successful ones."},
    {"address_verify_negative_expire_time", PARAM_TIME, "3d", PARAM_F_NOEFFECT, 'd', 0, 0,
     "How long a failed verification result stays in the cache."},
    {"address_verify_negative_refresh_time", PARAM_TIME, "3h", PARAM_F_NOEFFECT, 'h', 0, 0,
     "Age at which a cached failed result is probed again."},
    {"address_verify_pending_request_limit", PARAM_INT, "5000", PARAM_F_NOEFFECT, 0, 0, 0,
     "Most verification probes that may be in progress at once."},
    {"address_verify_poll_count", PARAM_INT, "${stress?{1}:{3}}", PARAM_F_NOEFFECT, 0, 0, 0,
     "How often the SMTP server polls for a pending verification result before answering 4xx."},
    {"address_verify_poll_delay", PARAM_TIME, "3s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Wait between two polls for a pending verification result."},
    {"address_verify_positive_expire_time", PARAM_TIME, "31d", PARAM_F_NOEFFECT, 'd', 0, 0,
     "How long a successful verification result stays in the cache."},
    {"address_verify_positive_refresh_time", PARAM_TIME, "7d", PARAM_F_NOEFFECT, 'd', 0, 0,
     "Age at which a cached successful result is probed again."},
    {"address_verify_relay_transport", PARAM_STRING, "$relay_transport", PARAM_F_NOEFFECT, 0, 0, 0,
     "relay_transport used for address verification probes."},
    {"address_verify_relayhost", PARAM_STRING, "$relayhost", PARAM_F_NOEFFECT, 0, 0, 0,
     "relayhost used for address verification probes."},
    {"address_verify_sender", PARAM_STRING, "$double_bounce_sender", PARAM_F_NOEFFECT, 0, 0, 0,
     "Envelope sender of verification probes (empty = the null sender)."},
    {"address_verify_sender_dependent_default_transport_maps", PARAM_LIST,
     "$sender_dependent_default_transport_maps", PARAM_F_NOEFFECT, 0, 0, 0,
     "sender_dependent_default_transport_maps used for address verification probes."},
    {"address_verify_sender_dependent_relayhost_maps", PARAM_LIST,
     "$sender_dependent_relayhost_maps", PARAM_F_NOEFFECT, 0, 0, 0,
     "sender_dependent_relayhost_maps used for address verification probes."},
    {"address_verify_sender_ttl", PARAM_TIME, "0s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Lifetime of a time-dependent probe sender address (0 = a fixed address)."},
    {"address_verify_service_name", PARAM_STRING, "verify", PARAM_F_NOEFFECT, 0, 0, 0,
     "Name of the address verification service in master.cf."},
    {"address_verify_transport_maps", PARAM_LIST, "$transport_maps", PARAM_F_NOEFFECT, 0, 0, 0,
     "transport_maps used for address verification probes."},
    {"address_verify_virtual_transport", PARAM_STRING, "$virtual_transport", PARAM_F_NOEFFECT, 0, 0,
     0, "virtual_transport used for address verification probes."},
    {"alias_database", PARAM_LIST, "hash:/etc/aliases", PARAM_F_NOEFFECT, 0, 0, 0,
     "Alias files that newaliases rebuilds; postern has no newaliases."},
    {"alias_maps", PARAM_LIST, "hash:/etc/aliases", 0, 0, 0, 0,
     "Alias tables of local delivery; also part of the default local_recipient_maps."},
    {"allow_mail_to_commands", PARAM_LIST, "alias, forward", PARAM_F_NOEFFECT, 0, 0, 0,
     "Where local delivery may pipe mail to commands (alias, forward, include)."},
    {"allow_mail_to_files", PARAM_LIST, "alias, forward", PARAM_F_NOEFFECT, 0, 0, 0,
     "Where local delivery may append mail to files (alias, forward, include)."},
    {"allow_min_user", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Accept addresses whose local part starts with \"-\" (else they are rejected as unsafe)."},
    {"allow_percent_hack", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Rewrite user%domain@myhostname to user@domain before routing."},
    {"allow_untrusted_routing", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Let unauthorized clients use sender-specified routing (user@host@relay, user%host@relay, "
     "bang paths) to relay."},
    {"always_add_missing_headers", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Add From, To, Date and Message-ID headers also to mail from remote clients."},
    {"always_bcc", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Address that receives a copy of every message."},
    {"anvil_rate_time_unit", PARAM_TIME, "60s", 0, 's', 1, LONG_MAX,
     "Time unit of the smtpd_client_*_rate_limit counters."},
    {"append_at_myorigin", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Append @$myorigin to addresses without a domain from local submission."},
    {"append_dot_mydomain", PARAM_BOOL, "${{$compatibility_level} <level {1} ? {yes} : {no}}", 0, 0,
     0, 0, "Append .$mydomain to addresses whose domain has no dot."},
    {"biff", PARAM_BOOL, "yes", PARAM_F_NOEFFECT, 0, 0, 0,
     "Notify the local biff service of new mail; postern has no local delivery to biff for."},
    {"body_checks", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Pattern tables applied to every body line."},
    {"bounce_notice_recipient", PARAM_STRING, "postmaster", PARAM_F_NOEFFECT, 0, 0, 0,
     "Who gets a copy of the headers of bounced mail (notify_classes \"bounce\")."},
    {"bounce_queue_lifetime", PARAM_TIME, "5d", 0, 'd', 0, LONG_MAX,
     "How long a bounce message stays in the queue before it is given up."},
    {"bounce_size_limit", PARAM_INT, "50000", 0, 0, 1, LONG_MAX,
     "Most bytes of the original message returned in a bounce."},
    {"bounce_template_file", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "File with the text templates for delivery status notifications."},
    {"broken_sasl_auth_clients", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Also announce AUTH in the obsolete \"AUTH=\" form for old Outlook clients."},
    {"canonical_classes", PARAM_LIST,
     "envelope_sender, envelope_recipient, header_sender, header_recipient", PARAM_F_NOEFFECT, 0, 0,
     0, "Which addresses canonical_maps rewrites."},
    {"canonical_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Address rewriting tables for sender and recipient addresses and headers."},
    {"cleanup_replace_stray_cr_lf", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Replace a CR or LF that is not part of CRLF in message content by a space."},
    {"command_directory", PARAM_STRING, "/usr/sbin", PARAM_F_NOEFFECT, 0, 0, 0,
     "Where the Postfix administrative commands live (not used by postern)."},
    {"command_time_limit", PARAM_TIME, "1000s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Time limit for deliveries to external commands."},
    {"compatibility_level", PARAM_STRING, "0", 0, 0, 0, 0,
     "Postfix release whose default settings apply; older levels keep older, less safe defaults."},
    {"config_directory", PARAM_STRING, "/etc/postern", 0, 0, 0, 0,
     "Directory with main.cf and master.cf; set by -c."},
    {"content_filter", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Transport:nexthop that receives every message after queueing for filtering."},
    {"daemon_directory", PARAM_STRING, "/usr/lib/postfix/sbin", PARAM_F_NOEFFECT, 0, 0, 0,
     "Where the Postfix server programs live (not used by postern)."},
    {"daemon_timeout", PARAM_TIME, "18000s", 0, 's', 0, 0,
     "Time limit for one request handled by an internal service."},
    {"data_directory", PARAM_STRING, "/var/lib/postern", 0, 0, 0, 0,
     "Directory for writable data that is not mail (caches, locks)."},
    {"debug_peer_level", PARAM_INT, "2", 0, 0, 0, 0,
     "Extra verbose log level for clients that match debug_peer_list."},
    {"debug_peer_list", PARAM_LIST, "", 0, 0, 0, 0,
     "Clients (names, addresses, networks) whose sessions are logged verbosely."},
    {"default_database_type", PARAM_STRING, "hash", 0, 0, 0, 0,
     "Table type used when a table name has no \"type:\" prefix."},
    {"default_delivery_slot_cost", PARAM_INT, "5", PARAM_F_NOEFFECT, 0, 0, 0,
     "Postfix queue manager scheduling: delivery slot cost."},
    {"default_delivery_status_filter", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Table that rewrites delivery status codes and texts."},
    {"default_destination_concurrency_limit", PARAM_INT, "20", 0, 0, 0, LONG_MAX,
     "Most parallel deliveries to one destination per transport."},
    {"default_destination_rate_delay", PARAM_TIME, "0s", 0, 's', 0, LONG_MAX,
     "Pause between two deliveries to the same destination (0 = none)."},
    {"default_destination_recipient_limit", PARAM_INT, "50", 0, 0, 0, LONG_MAX,
     "Most recipients per delivery to one destination."},
    {"default_extra_recipient_limit", PARAM_INT, "1000", PARAM_F_NOEFFECT, 0, 0, 0,
     "Postfix queue manager: extra in-memory recipients per transport."},
    {"default_minimum_delivery_slots", PARAM_INT, "3", PARAM_F_NOEFFECT, 0, 0, 0,
     "Postfix queue manager scheduling: minimum delivery slots."},
    {"default_privs", PARAM_STRING, "nobody", 0, 0, 0, 0,
     "Account used for deliveries to files and commands when no other applies."},
    {"default_process_limit", PARAM_INT, "100", 0, 0, 1, LONG_MAX,
     "Most processes per master.cf service when its maxproc column is \"-\"."},
    {"default_rbl_reply", PARAM_STRING,
     "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
     "$rbl_domain${rbl_reason?; $rbl_reason}",
     PARAM_F_RAW, 0, 0, 0,
     "Reply text template for DNSBL rejections ($rbl_code, $rbl_class, $rbl_what, $rbl_domain, "
     "$rbl_reason, $rbl_txt)."},
    {"default_recipient_limit", PARAM_INT, "20000", PARAM_F_NOEFFECT, 0, 0, 0,
     "Postfix queue manager: most in-memory recipients per transport."},
    {"default_transport", PARAM_STRING, "smtp", 0, 0, 0, 0,
     "Transport for mail that is neither local, virtual nor relayed (usually smtp)."},
    {"default_transport_rate_delay", PARAM_TIME, "0s", 0, 's', 0, LONG_MAX,
     "Pause between two deliveries by the same transport (0 = none)."},
    {"default_verp_delimiters", PARAM_STRING, "+=", PARAM_F_NOEFFECT, 0, 0, 0,
     "Default VERP delimiter characters."},
    {"defer_code", PARAM_INT, "450", 0, 0, 400, 599, "Reply code for the \"defer\" restriction."},
    {"defer_transports", PARAM_LIST, "", 0, 0, 0, 0,
     "Transports whose deliveries are postponed until the queue is flushed."},
    {"delay_logging_resolution_limit", PARAM_INT, "2", 0, 0, 0, 6,
     "Decimal places of the delay figures in delivery log lines."},
    {"delay_notice_recipient", PARAM_STRING, "postmaster", PARAM_F_NOEFFECT, 0, 0, 0,
     "Who gets a copy of the headers of delayed-mail notices (notify_classes \"delay\")."},
    {"delay_warning_time", PARAM_TIME, "0h", 0, 'h', 0, LONG_MAX,
     "Age at which the sender is told that a message is delayed (0 = never)."},
    {"disable_dns_lookups", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Legacy switch that disabled DNS lookups in the SMTP client; use smtp_dns_support_level."},
    {"disable_mime_input_processing", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Treat message content as plain text, without MIME parsing."},
    {"disable_mime_output_conversion", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Never convert 8BITMIME content to 7BIT for a destination that lacks 8BITMIME."},
    {"disable_verp_bounces", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Send one bounce per message instead of one per recipient for VERP mail."},
    {"disable_vrfy_command", PARAM_BOOL, "no", 0, 0, 0, 0, "Refuse the SMTP VRFY command."},
    {"double_bounce_sender", PARAM_STRING, "double-bounce", 0, 0, 0, 0,
     "Sender address of postmaster notices; mail back to it is discarded."},
    {"empty_address_recipient", PARAM_STRING, "MAILER-DAEMON", PARAM_F_NOEFFECT, 0, 0, 0,
     "Recipient of mail addressed to the null address."},
    {"enable_long_queue_ids", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Postfix switch for long queue IDs; postern always uses the long form."},
    {"error_notice_recipient", PARAM_STRING, "postmaster", PARAM_F_NOEFFECT, 0, 0, 0,
     "Who gets notices about software and resource problems (notify_classes)."},
    {"fallback_transport", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Transport for local recipients that are not found in the UNIX passwd database."},
    {"fast_flush_domains", PARAM_LIST, "$relay_domains", 0, 0, 0, 0,
     "Destinations for which a per-destination log of deferred mail is kept for ETRN."},
    {"forward_path", PARAM_LIST, "$home/.forward${recipient_delimiter}${extension}, $home/.forward",
     PARAM_F_NOEFFECT | PARAM_F_RAW, 0, 0, 0, "Where local delivery looks for .forward files."},
    {"header_checks", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Pattern tables applied to every message header."},
    {"header_size_limit", PARAM_INT, "102400", 0, 0, 1, LONG_MAX,
     "Most bytes of one message header (with its continuation lines) that are kept."},
    {"home_mailbox", PARAM_STRING, "", 0, 0, 0, 0,
     "Mailbox relative to a local user's home directory (ending in \"/\" = Maildir)."},
    {"hopcount_limit", PARAM_INT, "50", 0, 0, 1, LONG_MAX,
     "Most Received: headers before a message is bounced as looping."},
    {"import_environment", PARAM_LIST,
     "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE "
     "POSTLOG_HOSTNAME",
     PARAM_F_NOEFFECT, 0, 0, 0, "Environment variables passed to child processes."},
    {"in_flow_delay", PARAM_TIME, "1s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Pause per received message when the queue manager falls behind."},
    {"inet_interfaces", PARAM_LIST, "all", 0, 0, 0, 0,
     "Addresses the SMTP server and client use: all, loopback-only, or a list of addresses and "
     "names."},
    {"inet_protocols", PARAM_LIST, "all", 0, 0, 0, 0,
     "IP versions used: all, ipv4, ipv6, or \"ipv4, ipv6\"."},
    {"invalid_hostname_reject_code", PARAM_INT, "501", 0, 0, 400, 599,
     "Reply code for reject_invalid_helo_hostname."},
    {"ipc_idle", PARAM_TIME, "5s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Idle time after which a client closes its connection to an internal service."},
    {"ipc_timeout", PARAM_TIME, "3600s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Time limit for reads and writes on internal connections."},
    {"ipc_ttl", PARAM_TIME, "1000s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Longest life of a connection to an internal service."},
    {"line_length_limit", PARAM_INT, "2048", 0, 0, 1, LONG_MAX,
     "Longest message or table input line kept as one record; longer lines are split."},
    {"lmdb_map_size", PARAM_SIZE, "16777216", 0, 0, 1, LONG_MAX,
     "Initial size in bytes of an LMDB table; it doubles when full."},
    {"lmtp_connect_timeout", PARAM_TIME, "0s", 0, 's', 0, LONG_MAX,
     "Time limit for opening a connection to an LMTP server."},
    {"lmtp_data_done_timeout", PARAM_TIME, "600s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP replies to the end of message content."},
    {"lmtp_data_init_timeout", PARAM_TIME, "120s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP reply to DATA."},
    {"lmtp_data_xfer_timeout", PARAM_TIME, "180s", 0, 's', 1, LONG_MAX,
     "Time limit for sending message content over LMTP."},
    {"lmtp_lhlo_name", PARAM_STRING, "$myhostname", 0, 0, 0, 0, "Host name sent in LHLO."},
    {"lmtp_lhlo_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP greeting and the LHLO reply."},
    {"lmtp_mail_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP reply to MAIL FROM."},
    {"lmtp_quit_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP reply to QUIT."},
    {"lmtp_rcpt_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP reply to RCPT TO."},
    {"lmtp_rset_timeout", PARAM_TIME, "20s", 0, 's', 1, LONG_MAX,
     "Time limit for the LMTP reply to RSET."},
    {"lmtp_sasl_auth_enable", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Authenticate to LMTP servers with lmtp_sasl_password_maps."},
    {"lmtp_sasl_password_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables of username:password per LMTP server."},
    {"lmtp_tcp_port", PARAM_STRING, "24", 0, 0, 0, 0, "Port used for LMTP when none is given."},
    {"lmtp_tls_security_level", PARAM_STRING, "", 0, 0, 0, 0, "TLS policy of the LMTP client."},
    {"local_command_shell", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Shell used by local delivery to run commands."},
    {"local_destination_concurrency_limit", PARAM_INT, "2", 0, 0, 0, 0,
     "Most parallel local deliveries to the same recipient."},
    {"local_destination_recipient_limit", PARAM_INT, "1", 0, 0, 0, 0,
     "Most recipients per local delivery."},
    {"local_header_rewrite_clients", PARAM_LIST, "permit_inet_interfaces", PARAM_F_NOEFFECT, 0, 0,
     0, "Clients whose message headers are rewritten as local mail."},
    {"local_recipient_maps", PARAM_LIST, "proxy:unix:passwd.byname $alias_maps", 0, 0, 0, 0,
     "Tables of valid local recipients; unknown ones are rejected at RCPT (empty = accept all)."},
    {"local_transport", PARAM_STRING, "local:$myhostname", 0, 0, 0, 0,
     "Transport for domains in mydestination and inet_interfaces/proxy_interfaces."},
    {"luser_relay", PARAM_STRING, "", PARAM_F_NOEFFECT | PARAM_F_RAW, 0, 0, 0,
     "Destination for mail to unknown local users."},
    {"mail_name", PARAM_STRING, "postern", 0, 0, 0, 0,
     "Mail system name used in the SMTP greeting and Received: headers."},
    {"mail_owner", PARAM_STRING, "postfix", 0, 0, 0, 0,
     "Account that owns the queue and under which server processes run."},
    {"mail_spool_directory", PARAM_STRING, "/var/mail", 0, 0, 0, 0,
     "Directory of UNIX mailbox files (ending in \"/\" = Maildir per user)."},
    {"mail_version", PARAM_STRING, POSTERN_VERSION, 0, 0, 0, 0,
     "Version of the running mail system (postern's own version)."},
    {"mailbox_command", PARAM_STRING, "", PARAM_F_NOEFFECT | PARAM_F_RAW, 0, 0, 0,
     "Command that delivers to local mailboxes instead of local(8)."},
    {"mailbox_command_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-user mailbox_command table."},
    {"mailbox_delivery_lock", PARAM_LIST, "fcntl, dotlock", PARAM_F_NOEFFECT, 0, 0, 0,
     "How UNIX mailbox files are locked."},
    {"mailbox_size_limit", PARAM_SIZE, "51200000", 0, 0, 0, LONG_MAX,
     "Largest mailbox or Maildir message file local delivery writes (0 = no limit)."},
    {"mailbox_transport", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Transport for local mailbox delivery (e.g. an LMTP server)."},
    {"mailbox_transport_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-recipient mailbox_transport table."},
    {"maillog_file", PARAM_STRING, "", 0, 0, 0, 0,
     "File for log lines instead of syslog (empty = syslog)."},
    {"maillog_file_prefixes", PARAM_LIST, "/var, /dev/stdout", 0, 0, 0, 0,
     "Allowed beginnings of maillog_file, against accidents."},
    {"maps_rbl_domains", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Obsolete DNSBL list of reject_maps_rbl; use reject_rbl_client."},
    {"maps_rbl_reject_code", PARAM_INT, "554", 0, 0, 400, 599,
     "Reply code for DNSBL and RHSBL rejections."},
    {"masquerade_classes", PARAM_LIST, "envelope_sender, header_sender, header_recipient",
     PARAM_F_NOEFFECT, 0, 0, 0, "Which addresses masquerade_domains rewrites."},
    {"masquerade_domains", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Domains whose subdomains are hidden in addresses."},
    {"masquerade_exceptions", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Users whose addresses are never masqueraded."},
    {"max_idle", PARAM_TIME, "100s", 0, 's', 0, 0,
     "Time a process waits for a new client before it exits."},
    {"max_use", PARAM_INT, "100", 0, 0, 0, 0, "Clients a process serves before it exits."},
    {"maximal_backoff_time", PARAM_TIME, "4000s", 0, 's', 1, LONG_MAX,
     "Longest wait between two delivery attempts of a deferred message."},
    {"maximal_queue_lifetime", PARAM_TIME, "5d", 0, 'd', 0, LONG_MAX,
     "Age at which a deferred message is bounced as undeliverable."},
    {"message_drop_headers", PARAM_LIST, "bcc, content-length, resent-bcc, return-path",
     PARAM_F_NOEFFECT, 0, 0, 0, "Headers removed from every message."},
    {"message_reject_characters", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Characters that make a message be rejected."},
    {"message_size_limit", PARAM_SIZE, "10240000", 0, 0, 0, LONG_MAX,
     "Largest message size in bytes, including envelope (0 = no limit)."},
    {"message_strip_characters", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Characters removed from message content."},
    {"milter_default_action", PARAM_STRING, "tempfail", PARAM_F_NOEFFECT, 0, 0, 0,
     "What to do when a milter fails."},
    {"minimal_backoff_time", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Shortest wait between two delivery attempts of a deferred message."},
    {"multi_instance_name", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Name of this instance in a Postfix multi-instance set up."},
    {"multi_recipient_bounce_reject_code", PARAM_INT, "550", 0, 0, 400, 599,
     "Reply code for reject_multi_recipient_bounce."},
    {"mydestination", PARAM_LIST, "$myhostname, localhost.$mydomain, localhost", 0, 0, 0, 0,
     "Domains delivered locally (local_transport)."},
    {"mydomain", PARAM_STRING, "localdomain", PARAM_F_COMPUTED, 0, 0, 0,
     "Internet domain of this host (default: myhostname without its first label, or "
     "\"localdomain\")."},
    {"myhostname", PARAM_STRING, "localhost.localdomain", PARAM_F_COMPUTED, 0, 0, 0,
     "Fully qualified name of this host (default: the system host name, with \".localdomain\" if "
     "it has no dot)."},
    {"mynetworks", PARAM_LIST, "127.0.0.0/8 [::1]/128", PARAM_F_COMPUTED, 0, 0, 0,
     "Trusted client networks for permit_mynetworks (default: computed from mynetworks_style and "
     "the interfaces)."},
    {"mynetworks_style", PARAM_STRING, "${{$compatibility_level} <level {2} ? {subnet} : {host}}",
     0, 0, 0, 0, "How mynetworks is computed when unset: host, subnet or class."},
    {"myorigin", PARAM_STRING, "$myhostname", 0, 0, 0, 0,
     "Domain appended to locally submitted addresses without one."},
    {"non_fqdn_reject_code", PARAM_INT, "504", 0, 0, 400, 599,
     "Reply code for the reject_non_fqdn_* restrictions."},
    {"non_smtpd_milters", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Milters for mail not received through the SMTP server."},
    {"notify_classes", PARAM_LIST, "resource, software", 0, 0, 0, 0,
     "Problems reported to the postmaster: bounce, 2bounce, data, delay, policy, protocol, "
     "resource, software."},
    {"owner_request_special", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Treat owner-list and list-request addresses specially (no extension stripping)."},
    {"parent_domain_matches_subdomains", PARAM_LIST,
     "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_"
     "clients,relay_domains,smtpd_access_maps",
     0, 0, 0, 0,
     "Features where a domain pattern also matches its subdomains (else write .domain)."},
    {"permit_mx_backup_networks", PARAM_LIST, "", 0, 0, 0, 0,
     "Networks the primary MX must be in for permit_mx_backup (empty = any)."},
    {"plaintext_reject_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code for reject_plaintext_session."},
    {"postern_dns_servers", PARAM_LIST, "", PARAM_F_POSTERN, 0, 0, 0,
     "postern only: DNS servers to query, as IP or IP@port (empty = the nameservers of "
     "/etc/resolv.conf; none = no DNS at all)."},
    {"postern_queue_fsync_threads", PARAM_INT, "4", PARAM_F_POSTERN, 0, 1, 64,
     "postern only: threads that fsync queue files so that the event loops never wait for the "
     "disk."},
    {"postern_smtpd_workers", PARAM_INT, "0", PARAM_F_POSTERN, 0, 0, 1024,
     "postern only: SMTP server worker processes, each an event loop (0 = one per CPU)."},
    {"propagate_unmatched_extensions", PARAM_LIST, "canonical, virtual", PARAM_F_NOEFFECT, 0, 0, 0,
     "Rewriting steps that carry an unmatched address extension over."},
    {"proxy_interfaces", PARAM_LIST, "", 0, 0, 0, 0,
     "Addresses of proxies or NAT devices through which this host receives mail."},
    {"queue_directory", PARAM_STRING, "/var/spool/postern", 0, 0, 0, 0, "Root of the mail queue."},
    {"queue_minfree", PARAM_SIZE, "0", 0, 0, 0, LONG_MAX,
     "Free bytes the queue file system must keep; below it mail is refused with 4xx (0 = no fixed "
     "minimum)."},
    {"queue_run_delay", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "How often the queue manager scans the deferred queue."},
    {"rbl_reply_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables with reply templates per DNSBL domain (default: default_rbl_reply)."},
    {"recipient_bcc_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-recipient automatic BCC addresses."},
    {"recipient_canonical_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Address rewriting tables for recipient addresses."},
    {"recipient_delimiter", PARAM_STRING, "", 0, 0, 0, 0,
     "Characters that separate the user name from an address extension (user+ext)."},
    {"reject_code", PARAM_INT, "554", 0, 0, 400, 599, "Reply code for the \"reject\" restriction."},
    {"reject_tempfail_action", PARAM_STRING, "defer_if_permit", 0, 0, 0, 0,
     "What to do when a reject_unknown_* test fails temporarily: defer, defer_if_permit."},
    {"relay_clientcerts", PARAM_LIST, "", 0, 0, 0, 0,
     "Client certificate fingerprints allowed to relay with permit_tls_clientcerts."},
    {"relay_domains", PARAM_LIST, "${{$compatibility_level} <level {2} ? {$mydestination} : {}}", 0,
     0, 0, 0, "Domains (beyond the local and virtual ones) this host relays mail to."},
    {"relay_domains_reject_code", PARAM_INT, "554", 0, 0, 400, 599,
     "Reply code for reject_unauth_destination."},
    {"relay_recipient_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables of valid recipients in relay_domains; others are rejected at RCPT (empty = accept "
     "all)."},
    {"relay_transport", PARAM_STRING, "relay", 0, 0, 0, 0, "Transport for mail to relay_domains."},
    {"relayhost", PARAM_STRING, "", 0, 0, 0, 0,
     "Next hop for non-local mail instead of the MX ([host]:port, host:port)."},
    {"relocated_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Tables of \"user has moved to\" addresses for bounces."},
    {"resolve_dequoted_address", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Resolve \"user@domain\"@example as user@domain@example, as Postfix does."},
    {"resolve_null_domain", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Resolve user@ as if it were user (true) or reject it as bad syntax."},
    {"resolve_numeric_domain", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Treat user@ipaddress as a local address when ipaddress is one of ours."},
    {"sender_bcc_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-sender automatic BCC addresses."},
    {"sender_canonical_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Address rewriting tables for sender addresses."},
    {"sender_dependent_default_transport_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-sender default_transport."},
    {"sender_dependent_relayhost_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-sender relayhost."},
    {"sendmail_path", PARAM_STRING, "/usr/sbin/sendmail", PARAM_F_NOEFFECT, 0, 0, 0,
     "Where the Postfix sendmail command lives (not used by postern)."},
    {"setgid_group", PARAM_STRING, "postdrop", PARAM_F_NOEFFECT, 0, 0, 0,
     "Group of the Postfix mail submission programs."},
    {"show_user_unknown_table_name", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Name the table in \"User unknown in ... table\" replies."},
    {"smtp_address_preference", PARAM_STRING, "any", 0, 0, 0, 0,
     "IP version preferred when an MX host has both: any, ipv4, ipv6."},
    {"smtp_bind_address", PARAM_STRING, "", 0, 0, 0, 0,
     "Local IPv4 address for outgoing SMTP connections."},
    {"smtp_bind_address6", PARAM_STRING, "", 0, 0, 0, 0,
     "Local IPv6 address for outgoing SMTP connections."},
    {"smtp_connect_timeout", PARAM_TIME, "30s", 0, 's', 0, LONG_MAX,
     "Time limit for opening a TCP connection to a remote server."},
    {"smtp_data_done_timeout", PARAM_TIME, "600s", 0, 's', 1, LONG_MAX,
     "Time limit for the reply to the end of message content."},
    {"smtp_data_init_timeout", PARAM_TIME, "120s", 0, 's', 1, LONG_MAX,
     "Time limit for the reply to DATA."},
    {"smtp_data_xfer_timeout", PARAM_TIME, "180s", 0, 's', 1, LONG_MAX,
     "Time limit for sending message content."},
    {"smtp_dns_support_level", PARAM_STRING, "", 0, 0, 0, 0,
     "DNS use of the SMTP client: disabled, enabled, dnssec."},
    {"smtp_helo_name", PARAM_STRING, "$myhostname", 0, 0, 0, 0,
     "Host name the SMTP client sends in HELO/EHLO."},
    {"smtp_helo_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the greeting and the HELO/EHLO reply."},
    {"smtp_host_lookup", PARAM_LIST, "dns", 0, 0, 0, 0,
     "How the SMTP client finds host addresses: dns, native."},
    {"smtp_line_length_limit", PARAM_INT, "998", 0, 0, 0, LONG_MAX,
     "Longest line the SMTP client sends; longer ones are folded (0 = no limit)."},
    {"smtp_mail_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the reply to MAIL FROM."},
    {"smtp_mx_address_limit", PARAM_INT, "5", 0, 0, 0, LONG_MAX,
     "Most MX host addresses tried per delivery (0 = no limit)."},
    {"smtp_mx_session_limit", PARAM_INT, "2", 0, 0, 0, LONG_MAX,
     "Most SMTP sessions per delivery (0 = no limit)."},
    {"smtp_quit_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the reply to QUIT."},
    {"smtp_rcpt_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the reply to RCPT TO."},
    {"smtp_rset_timeout", PARAM_TIME, "20s", 0, 's', 1, LONG_MAX,
     "Time limit for the reply to RSET."},
    {"smtp_sasl_auth_enable", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Authenticate to remote servers with smtp_sasl_password_maps."},
    {"smtp_sasl_password_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables of username:password per remote host or domain."},
    {"smtp_sasl_security_options", PARAM_LIST, "noplaintext, noanonymous", 0, 0, 0, 0,
     "SASL mechanism restrictions of the SMTP client."},
    {"smtp_skip_5xx_greeting", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Try the next MX host when a server greets with 5xx."},
    {"smtp_starttls_timeout", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Time limit for the client TLS handshake."},
    {"smtp_tcp_port", PARAM_STRING, "smtp", 0, 0, 0, 0,
     "Port the SMTP client connects to when none is given."},
    {"smtp_tls_CAfile", PARAM_STRING, "", 0, 0, 0, 0,
     "File of CA certificates used to verify servers."},
    {"smtp_tls_CApath", PARAM_STRING, "", 0, 0, 0, 0,
     "Directory of CA certificates used to verify servers."},
    {"smtp_tls_cert_file", PARAM_STRING, "", 0, 0, 0, 0, "Client certificate file (PEM)."},
    {"smtp_tls_chain_files", PARAM_LIST, "", 0, 0, 0, 0,
     "Client private keys and certificate chains."},
    {"smtp_tls_ciphers", PARAM_STRING, "medium", 0, 0, 0, 0,
     "Cipher grade of the SMTP client for opportunistic TLS."},
    {"smtp_tls_key_file", PARAM_STRING, "$smtp_tls_cert_file", 0, 0, 0, 0,
     "Client private key file (PEM)."},
    {"smtp_tls_loglevel", PARAM_INT, "0", 0, 0, 0, 4, "TLS logging of the SMTP client."},
    {"smtp_tls_mandatory_ciphers", PARAM_STRING, "medium", 0, 0, 0, 0,
     "Cipher grade of the SMTP client when TLS is required."},
    {"smtp_tls_mandatory_protocols", PARAM_LIST, ">=TLSv1", 0, 0, 0, 0,
     "TLS versions the SMTP client accepts when TLS is required."},
    {"smtp_tls_policy_maps", PARAM_LIST, "", 0, 0, 0, 0, "Tables of TLS policy per destination."},
    {"smtp_tls_protocols", PARAM_LIST, ">=TLSv1", 0, 0, 0, 0,
     "TLS versions the SMTP client accepts for opportunistic TLS."},
    {"smtp_tls_security_level", PARAM_STRING, "", 0, 0, 0, 0,
     "TLS policy of the SMTP client: none, may, encrypt, dane, verify, secure."},
    {"smtp_tls_wrappermode", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Use implicit TLS (port 465) for outgoing connections."},
    {"smtp_xforward_timeout", PARAM_TIME, "300s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Time limit for the reply to XFORWARD."},
    {"smtpd_authorized_verp_clients", PARAM_LIST, "$authorized_verp_clients", PARAM_F_NOEFFECT, 0,
     0, 0, "Clients that may ask for VERP with XVERP or MAIL FROM ... XVERP."},
    {"smtpd_authorized_xclient_hosts", PARAM_LIST, "", 0, 0, 0, 0,
     "Clients that may use XCLIENT to override the client facts of the session."},
    {"smtpd_authorized_xforward_hosts", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Clients that may use XFORWARD to pass on original client facts."},
    {"smtpd_banner", PARAM_STRING, "$myhostname ESMTP $mail_name", 0, 0, 0, 0,
     "Text after \"220\" in the SMTP greeting; must start with $myhostname."},
    {"smtpd_client_auth_rate_limit", PARAM_INT, "0", 0, 0, 0, LONG_MAX,
     "Most AUTH commands one client may send per anvil_rate_time_unit (0 = no limit)."},
    {"smtpd_client_connection_count_limit", PARAM_INT, "50", 0, 0, 0, LONG_MAX,
     "Most simultaneous connections from one client (0 = no limit)."},
    {"smtpd_client_connection_rate_limit", PARAM_INT, "0", 0, 0, 0, LONG_MAX,
     "Most connections one client may open per anvil_rate_time_unit (0 = no limit)."},
    {"smtpd_client_event_limit_exceptions", PARAM_LIST,
     "${smtpd_client_connection_limit_exceptions:$mynetworks}", 0, 0, 0, 0,
     "Clients exempt from the smtpd_client_*_limit settings."},
    {"smtpd_client_message_rate_limit", PARAM_INT, "0", 0, 0, 0, LONG_MAX,
     "Most messages one client may send per anvil_rate_time_unit (0 = no limit)."},
    {"smtpd_client_new_tls_session_rate_limit", PARAM_INT, "0", 0, 0, 0, LONG_MAX,
     "Most new TLS sessions one client may negotiate per anvil_rate_time_unit (0 = no limit)."},
    {"smtpd_client_port_logging", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Log the client's port number with its address."},
    {"smtpd_client_recipient_rate_limit", PARAM_INT, "0", 0, 0, 0, LONG_MAX,
     "Most recipients one client may send to per anvil_rate_time_unit (0 = no limit)."},
    {"smtpd_client_restrictions", PARAM_LIST, "", 0, 0, 0, 0,
     "Restrictions applied to the client's name and address when it connects."},
    {"smtpd_command_filter", PARAM_LIST, "", 0, 0, 0, 0,
     "Table that rewrites SMTP commands before they are parsed."},
    {"smtpd_data_restrictions", PARAM_LIST, "", 0, 0, 0, 0,
     "Restrictions applied when the client sends DATA."},
    {"smtpd_delay_open_until_valid_rcpt", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Create the queue file only after the first accepted recipient."},
    {"smtpd_delay_reject", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Evaluate client, HELO and sender restrictions at RCPT TO instead of earlier."},
    {"smtpd_discard_ehlo_keyword_address_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables naming, per client address, the EHLO keywords to hide."},
    {"smtpd_discard_ehlo_keywords", PARAM_LIST, "", 0, 0, 0, 0,
     "EHLO keywords that the server does not announce and whose commands it refuses."},
    {"smtpd_dns_reply_filter", PARAM_LIST, "", 0, 0, 0, 0,
     "Table that rewrites DNS answers before the SMTP server uses them."},
    {"smtpd_end_of_data_restrictions", PARAM_LIST, "", 0, 0, 0, 0,
     "Restrictions applied after the message content has been received."},
    {"smtpd_enforce_tls", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Obsolete form of smtpd_tls_security_level = encrypt (used while that is empty)."},
    {"smtpd_error_sleep_time", PARAM_TIME, "1s", 0, 's', 0, LONG_MAX,
     "Pause before each error reply once smtpd_soft_error_limit is reached."},
    {"smtpd_etrn_restrictions", PARAM_LIST, "", 0, 0, 0, 0,
     "Restrictions applied to the domain of an ETRN command."},
    {"smtpd_expansion_filter", PARAM_STRING,
     "\\t\\40!\"#$%&'()*+,-./"
     "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
     PARAM_F_LITERAL, 0, 0, 0,
     "Characters allowed in client-supplied text substituted into reply templates; others become "
     "\"_\"."},
    {"smtpd_forbid_bare_newline", PARAM_STRING, "normalize", 0, 0, 0, 0,
     "How a bare LF in SMTP commands and content is taken: no (a line end, as CR LF), "
     "normalize or yes (a line end, but only CR LF . CR LF ends DATA: postern's default, "
     "where Postfix 3.7 says no), reject (550 and the message is refused)."},
    {"smtpd_forbid_bare_newline_exclusions", PARAM_LIST, "$mynetworks", 0, 0, 0, 0,
     "Clients to which smtpd_forbid_bare_newline does not apply."},
    {"smtpd_forbid_bare_newline_reject_code", PARAM_INT, "550", 0, 0, 400, 599,
     "Reply code when a bare LF is refused."},
    {"smtpd_forbid_unauth_pipelining", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Disconnect clients that pipeline commands without having seen PIPELINING in the EHLO reply."},
    {"smtpd_forbidden_commands", PARAM_LIST, "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, 0, 0,
     0, "Commands that make the server disconnect at once (HTTP and similar probes)."},
    {"smtpd_hard_error_limit", PARAM_INT, "${stress?{1}:{20}}", 0, 0, 1, LONG_MAX,
     "Errors after which the server disconnects."},
    {"smtpd_helo_required", PARAM_BOOL, "no", 0, 0, 0, 0, "Require HELO or EHLO before MAIL FROM."},
    {"smtpd_helo_restrictions", PARAM_LIST, "", 0, 0, 0, 0,
     "Restrictions applied to the HELO/EHLO host name."},
    {"smtpd_history_flush_threshold", PARAM_INT, "100", PARAM_F_NOEFFECT, 0, 0, 0,
     "Session transcript lines kept for the postmaster notice."},
    {"smtpd_junk_command_limit", PARAM_INT, "${stress?{1}:{100}}", 0, 0, 1, LONG_MAX,
     "NOOP, VRFY, ETRN and RSET commands without a delivery after which the server disconnects."},
    {"smtpd_log_access_permit_actions", PARAM_LIST, "", 0, 0, 0, 0,
     "Access table actions (e.g. static:all) whose PERMIT results are logged."},
    {"smtpd_milter_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Per-client milter selection."},
    {"smtpd_milters", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Milter applications that inspect mail received by the SMTP server."},
    {"smtpd_min_data_rate", PARAM_INT, "500", 0, 0, 1, LONG_MAX,
     "Lowest bytes per second a client must keep up in DATA once smtpd_per_request_deadline is "
     "on."},
    {"smtpd_noop_commands", PARAM_LIST, "", 0, 0, 0, 0,
     "Commands answered with \"250 Ok\" without any other effect."},
    {"smtpd_null_access_lookup_key", PARAM_STRING, "<>", 0, 0, 0, 0,
     "Key used in access tables for the null sender address."},
    {"smtpd_peername_lookup", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Look up the client's host name in DNS (no = always \"unknown\")."},
    {"smtpd_per_request_deadline", PARAM_BOOL,
     "${smtpd_per_record_deadline?{$smtpd_per_record_deadline}:{${stress?{yes}:{no}}}}", 0, 0, 0, 0,
     "Make smtpd_timeout a limit for a whole command or message rather than per read or write."},
    {"smtpd_policy_service_default_action", PARAM_STRING, "451 4.3.5 Server configuration problem",
     0, 0, 0, 0, "Reply used when the policy service cannot be reached."},
    {"smtpd_policy_service_max_idle", PARAM_TIME, "300s", 0, 's', 1, LONG_MAX,
     "Idle time after which a connection to a policy service is closed."},
    {"smtpd_policy_service_max_ttl", PARAM_TIME, "1000s", 0, 's', 1, LONG_MAX,
     "Longest life of a connection to a policy service."},
    {"smtpd_policy_service_policy_context", PARAM_STRING, "", 0, 0, 0, 0,
     "Text sent to policy services as the policy_context attribute."},
    {"smtpd_policy_service_request_limit", PARAM_INT, "0", 0, 0, 0, LONG_MAX,
     "Requests per connection to a policy service before it is reopened (0 = no limit)."},
    {"smtpd_policy_service_retry_delay", PARAM_TIME, "1s", 0, 's', 1, LONG_MAX,
     "Pause before a failed policy service request is retried."},
    {"smtpd_policy_service_timeout", PARAM_TIME, "100s", 0, 's', 1, LONG_MAX,
     "Time limit for connecting to a policy service and for one request."},
    {"smtpd_policy_service_try_limit", PARAM_INT, "2", 0, 0, 1, LONG_MAX,
     "Attempts at a policy service request before the default action applies."},
    {"smtpd_proxy_ehlo", PARAM_STRING, "$myhostname", PARAM_F_NOEFFECT, 0, 0, 0,
     "EHLO name sent to smtpd_proxy_filter."},
    {"smtpd_proxy_filter", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Before-queue content filter (host:port) that receives the SMTP session."},
    {"smtpd_proxy_options", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Options for smtpd_proxy_filter."},
    {"smtpd_proxy_timeout", PARAM_TIME, "100s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Time limit for talking to smtpd_proxy_filter."},
    {"smtpd_recipient_limit", PARAM_INT, "1000", 0, 0, 1, LONG_MAX,
     "Most recipients accepted per message; more get a 452 reply."},
    {"smtpd_recipient_overshoot_limit", PARAM_INT, "1000", 0, 0, 1, LONG_MAX,
     "Recipients beyond smtpd_recipient_limit that count as errors toward smtpd_hard_error_limit."},
    {"smtpd_recipient_restrictions", PARAM_LIST, "", 0, 0, 0, 0,
     "Restrictions applied to RCPT TO (the usual place for anti-spam rules)."},
    {"smtpd_reject_footer", PARAM_STRING, "", PARAM_F_RAW, 0, 0, 0,
     "Text appended to every 4xx and 5xx reply (\\c ends a line, $macros of the session expand)."},
    {"smtpd_reject_footer_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables with a footer per reply text, instead of smtpd_reject_footer."},
    {"smtpd_reject_unlisted_recipient", PARAM_BOOL, "yes", 0, 0, 0, 0,
     "Reject recipients in local, virtual or relay domains that are not listed as valid."},
    {"smtpd_reject_unlisted_sender", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Reject senders in local, virtual or relay domains that are not listed as valid recipients."},
    {"smtpd_relay_before_recipient_restrictions", PARAM_BOOL,
     "${{$compatibility_level} <level {3.6} ? {no} : {yes}}", 0, 0, 0, 0,
     "Evaluate smtpd_relay_restrictions before (yes) or after smtpd_recipient_restrictions."},
    {"smtpd_relay_restrictions", PARAM_LIST,
     "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, "
     "defer_unauth_destination}}",
     0, 0, 0, 0, "Restrictions that prevent open relaying, applied at RCPT TO."},
    {"smtpd_restriction_classes", PARAM_LIST, "", 0, 0, 0, 0,
     "Names of parameters that hold restriction lists usable as access table results."},
    {"smtpd_sasl_auth_enable", PARAM_BOOL, "no", 0, 0, 0, 0, "Offer SMTP AUTH."},
    {"smtpd_sasl_authenticated_header", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Record the SASL login name in the Received: header."},
    {"smtpd_sasl_exceptions_networks", PARAM_LIST, "", 0, 0, 0, 0,
     "Clients to which AUTH is not offered."},
    {"smtpd_sasl_local_domain", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Realm appended to SASL login names without one (Cyrus SASL only; Postfix's Dovecot "
     "back end ignores it too)."},
    {"smtpd_sasl_mechanism_filter", PARAM_LIST, "!external, static:rest", 0, 0, 0, 0,
     "Which SASL mechanisms of the back end are offered."},
    {"smtpd_sasl_path", PARAM_STRING, "smtpd", 0, 0, 0, 0,
     "Back end location: the passwd-file (relative: below config_directory) or the Dovecot "
     "auth socket (relative: below queue_directory)."},
    {"smtpd_sasl_response_limit", PARAM_INT, "12288", 0, 0, 1, LONG_MAX,
     "Longest client SASL response accepted."},
    {"smtpd_sasl_security_options", PARAM_LIST, "noanonymous", 0, 0, 0, 0,
     "Restrictions on SASL mechanisms without TLS (noanonymous, noplaintext...)."},
    {"smtpd_sasl_service", PARAM_STRING, "smtp", 0, 0, 0, 0,
     "Service name passed to the SASL back end."},
    {"smtpd_sasl_tls_security_options", PARAM_LIST, "$smtpd_sasl_security_options", 0, 0, 0, 0,
     "Restrictions on SASL mechanisms once TLS is active."},
    {"smtpd_sasl_type", PARAM_STRING, "cyrus", 0, 0, 0, 0,
     "SASL back end: passwd-file (built into postern) or dovecot; postern has no Cyrus "
     "SASL."},
    {"smtpd_sender_login_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables listing which SASL login names may use which sender addresses."},
    {"smtpd_sender_restrictions", PARAM_LIST, "", 0, 0, 0, 0, "Restrictions applied to MAIL FROM."},
    {"smtpd_service_name", PARAM_STRING, "smtpd", PARAM_F_NOEFFECT, 0, 0, 0,
     "Name of the SMTP server service in master.cf."},
    {"smtpd_soft_error_limit", PARAM_INT, "10", 0, 0, 1, LONG_MAX,
     "Errors after which each error reply is delayed by smtpd_error_sleep_time."},
    {"smtpd_starttls_timeout", PARAM_TIME, "${stress?{10}:{300}}s", 0, 's', 1, LONG_MAX,
     "Time limit for the TLS handshake after STARTTLS."},
    {"smtpd_timeout", PARAM_TIME, "${stress?{10}:{300}}s", 0, 's', 1, LONG_MAX,
     "Time limit for the client to send a command or data, and for sending a reply."},
    {"smtpd_tls_CAfile", PARAM_STRING, "", 0, 0, 0, 0,
     "File of CA certificates used to verify client certificates."},
    {"smtpd_tls_CApath", PARAM_STRING, "", 0, 0, 0, 0,
     "Directory of CA certificates used to verify client certificates."},
    {"smtpd_tls_always_issue_session_ids", PARAM_BOOL, "yes", PARAM_F_NOEFFECT, 0, 0, 0,
     "Issue TLS session IDs even without a session cache (postern has no session cache)."},
    {"smtpd_tls_ask_ccert", PARAM_BOOL, "no", 0, 0, 0, 0, "Ask TLS clients for a certificate."},
    {"smtpd_tls_auth_only", PARAM_BOOL, "no", 0, 0, 0, 0, "Offer AUTH only after STARTTLS."},
    {"smtpd_tls_ccert_verifydepth", PARAM_INT, "9", 0, 0, 1, LONG_MAX,
     "Longest client certificate chain verified."},
    {"smtpd_tls_cert_file", PARAM_STRING, "", 0, 0, 0, 0,
     "Server RSA certificate file (PEM), possibly with its chain."},
    {"smtpd_tls_chain_files", PARAM_LIST, "", 0, 0, 0, 0,
     "Files with private keys and certificate chains (preferred over *_cert_file/*_key_file)."},
    {"smtpd_tls_ciphers", PARAM_STRING, "medium", 0, 0, 0, 0,
     "Cipher grade for opportunistic TLS: export, low, medium, high."},
    {"smtpd_tls_dcert_file", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Server DSA certificate file (DSA is obsolete)."},
    {"smtpd_tls_dh1024_param_file", PARAM_STRING, "", 0, 0, 0, 0,
     "File with DH parameters for non-elliptic ephemeral key exchange."},
    {"smtpd_tls_dh512_param_file", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Obsolete DH parameters for export ciphers."},
    {"smtpd_tls_dkey_file", PARAM_STRING, "$smtpd_tls_dcert_file", PARAM_F_NOEFFECT, 0, 0, 0,
     "Server DSA private key file (DSA is obsolete)."},
    {"smtpd_tls_eccert_file", PARAM_STRING, "", 0, 0, 0, 0, "Server ECDSA certificate file (PEM)."},
    {"smtpd_tls_eckey_file", PARAM_STRING, "$smtpd_tls_eccert_file", 0, 0, 0, 0,
     "Server ECDSA private key file (PEM)."},
    {"smtpd_tls_eecdh_grade", PARAM_STRING, "auto", PARAM_F_NOEFFECT, 0, 0, 0,
     "Elliptic curve strength for ephemeral key exchange: auto, none, strong, ultra (postern: "
     "always auto, with tls_eecdh_auto_curves)."},
    {"smtpd_tls_exclude_ciphers", PARAM_LIST, "", 0, 0, 0, 0,
     "Ciphers or cipher types removed from the opportunistic TLS cipher list."},
    {"smtpd_tls_fingerprint_digest", PARAM_STRING,
     "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}", 0, 0, 0, 0,
     "Digest used for client certificate fingerprints (check_ccert_access, relay_clientcerts)."},
    {"smtpd_tls_key_file", PARAM_STRING, "$smtpd_tls_cert_file", 0, 0, 0, 0,
     "Server RSA private key file (PEM)."},
    {"smtpd_tls_loglevel", PARAM_INT, "0", 0, 0, 0, 4,
     "TLS logging: 0 none, 1 summary, 2 negotiation, 3 and 4 more detail."},
    {"smtpd_tls_mandatory_ciphers", PARAM_STRING, "medium", 0, 0, 0, 0,
     "Cipher grade when TLS is required."},
    {"smtpd_tls_mandatory_exclude_ciphers", PARAM_LIST, "", 0, 0, 0, 0,
     "Ciphers removed from the list when TLS is required."},
    {"smtpd_tls_mandatory_protocols", PARAM_LIST, ">=TLSv1", 0, 0, 0, 0,
     "TLS versions accepted when TLS is required."},
    {"smtpd_tls_protocols", PARAM_LIST, ">=TLSv1", 0, 0, 0, 0,
     "TLS versions accepted for opportunistic TLS."},
    {"smtpd_tls_received_header", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Record the TLS protocol and cipher in the Received: header."},
    {"smtpd_tls_req_ccert", PARAM_BOOL, "no", 0, 0, 0, 0,
     "With TLS required, require a verified client certificate."},
    {"smtpd_tls_security_level", PARAM_STRING, "", 0, 0, 0, 0,
     "TLS policy of the SMTP server: (empty), none, may, encrypt."},
    {"smtpd_tls_session_cache_database", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Shared TLS session cache table."},
    {"smtpd_tls_session_cache_timeout", PARAM_TIME, "3600s", 0, 's', 0, 0,
     "Lifetime of a cached TLS session; in postern, of a session ticket (0 = no tickets)."},
    {"smtpd_tls_wrappermode", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Start TLS at connect (implicit TLS, port 465) instead of with STARTTLS."},
    {"smtpd_upstream_proxy_protocol", PARAM_STRING, "", 0, 0, 0, 0,
     "Proxy protocol in front of the server: (empty) or haproxy."},
    {"smtpd_upstream_proxy_timeout", PARAM_TIME, "5s", 0, 's', 1, LONG_MAX,
     "Time limit for reading the proxy protocol header."},
    {"smtpd_use_tls", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Obsolete form of smtpd_tls_security_level = may."},
    {"smtputf8_enable", PARAM_BOOL, "${{$compatibility_level} <level {1} ? {no} : {yes}}", 0, 0, 0,
     0, "Offer SMTPUTF8 and accept UTF-8 envelope addresses and headers."},
    {"soft_bounce", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Turn every 5xx reject and bounce into a 4xx deferral (for testing a policy)."},
    {"stress", PARAM_STRING, "", 0, 0, 0, 0,
     "Set by the master process when under stress; selects the shorter stress timeouts in "
     "defaults."},
    {"strict_7bit_headers", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Reject messages with 8-bit header text."},
    {"strict_8bitmime", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Reject 8-bit text that was not announced as 8BITMIME."},
    {"strict_rfc821_envelopes", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Require RFC 5321 syntax in MAIL FROM and RCPT TO: <> brackets, no comments or phrases."},
    {"strict_smtputf8", PARAM_BOOL, "no", PARAM_F_NOEFFECT, 0, 0, 0,
     "Reject UTF-8 addresses from clients that did not request SMTPUTF8."},
    {"swap_bangpath", PARAM_BOOL, "yes", 0, 0, 0, 0, "Rewrite site!user to user@site."},
    {"syslog_facility", PARAM_STRING, "mail", 0, 0, 0, 0, "Syslog facility of the log lines."},
    {"syslog_name", PARAM_STRING, "${multi_instance_name?{$multi_instance_name}:{postfix}}", 0, 0,
     0, 0,
     "Name in front of the service in log lines (\"postfix/smtpd\"), kept for log tools written "
     "for Postfix."},
    {"tls_config_file", PARAM_STRING, "default", PARAM_F_NOEFFECT, 0, 0, 0,
     "OpenSSL configuration file used by TLS."},
    {"tls_config_name", PARAM_STRING, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Application name looked up in the OpenSSL configuration."},
    {"tls_eecdh_auto_curves", PARAM_LIST, "X25519 X448 prime256v1 secp521r1 secp384r1", 0, 0, 0, 0,
     "Elliptic curves offered for ephemeral key exchange, in order of preference."},
    {"tls_export_cipherlist", PARAM_STRING, "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH", 0,
     0, 0, 0, "OpenSSL cipher list behind the \"export\" grade."},
    {"tls_fast_shutdown_enable", PARAM_BOOL, "yes", PARAM_F_NOEFFECT, 0, 0, 0,
     "Send TLS close_notify without waiting for the answer."},
    {"tls_high_cipherlist", PARAM_STRING, "aNULL:-aNULL:HIGH:@STRENGTH", 0, 0, 0, 0,
     "OpenSSL cipher list behind the \"high\" grade."},
    {"tls_low_cipherlist", PARAM_STRING, "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH", 0, 0, 0, 0,
     "OpenSSL cipher list behind the \"low\" grade."},
    {"tls_medium_cipherlist", PARAM_STRING, "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH", 0, 0, 0, 0,
     "OpenSSL cipher list behind the \"medium\" grade."},
    {"tls_null_cipherlist", PARAM_STRING, "eNULL:!aNULL", 0, 0, 0, 0,
     "OpenSSL cipher list behind the \"null\" grade (no encryption)."},
    {"tls_preempt_cipherlist", PARAM_BOOL, "no", 0, 0, 0, 0,
     "Let the server's cipher order win over the client's."},
    {"tls_random_source", PARAM_STRING, "dev:/dev/urandom", PARAM_F_NOEFFECT, 0, 0, 0,
     "Random source for TLS (OpenSSL seeds itself in postern)."},
    {"tls_server_sni_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Tables of certificate chains per SNI server name."},
    {"tls_session_ticket_cipher", PARAM_STRING, "aes-256-cbc", 0, 0, 0, 0,
     "Cipher that protects TLS session tickets (empty = no tickets); postern issues tickets "
     "only when this is set in main.cf."},
    {"tls_ssl_options", PARAM_LIST, "", 0, 0, 0, 0,
     "Named OpenSSL options or a hexadecimal mask to add to TLS contexts."},
    {"transport_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables mapping recipients or domains to transport:nexthop."},
    {"transport_retry_time", PARAM_TIME, "60s", PARAM_F_NOEFFECT, 's', 0, 0,
     "Wait before a transport that had a problem is tried again."},
    {"unknown_address_reject_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code for reject_unknown_sender_domain and reject_unknown_recipient_domain."},
    {"unknown_address_tempfail_action", PARAM_STRING, "$reject_tempfail_action", 0, 0, 0, 0,
     "What to do when reject_unknown_*_domain fails temporarily."},
    {"unknown_client_reject_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code for reject_unknown_client_hostname and reject_unknown_reverse_client_hostname."},
    {"unknown_helo_hostname_tempfail_action", PARAM_STRING, "$reject_tempfail_action", 0, 0, 0, 0,
     "What to do when reject_unknown_helo_hostname fails temporarily."},
    {"unknown_hostname_reject_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code for reject_unknown_helo_hostname."},
    {"unknown_local_recipient_reject_code", PARAM_INT, "550", 0, 0, 400, 599,
     "Reply code for a recipient in mydestination that is not in local_recipient_maps."},
    {"unknown_relay_recipient_reject_code", PARAM_INT, "550", 0, 0, 400, 599,
     "Reply code for a recipient in relay_domains that is not in relay_recipient_maps."},
    {"unknown_virtual_alias_reject_code", PARAM_INT, "550", 0, 0, 400, 599,
     "Reply code for a recipient in virtual_alias_domains that is not in virtual_alias_maps."},
    {"unknown_virtual_mailbox_reject_code", PARAM_INT, "550", 0, 0, 400, 599,
     "Reply code for a recipient in virtual_mailbox_domains that is not in virtual_mailbox_maps."},
    {"unverified_recipient_defer_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code when reject_unverified_recipient finds no answer yet."},
    {"unverified_recipient_reject_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code when reject_unverified_recipient finds the address undeliverable."},
    {"unverified_recipient_reject_reason", PARAM_STRING, "", 0, 0, 0, 0,
     "Reply text for reject_unverified_recipient (empty = the delivery error)."},
    {"unverified_recipient_tempfail_action", PARAM_STRING, "$reject_tempfail_action", 0, 0, 0, 0,
     "What to do when reject_unverified_recipient fails temporarily."},
    {"unverified_sender_defer_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code when reject_unverified_sender finds no answer yet."},
    {"unverified_sender_reject_code", PARAM_INT, "450", 0, 0, 400, 599,
     "Reply code when reject_unverified_sender finds the address undeliverable."},
    {"unverified_sender_reject_reason", PARAM_STRING, "", 0, 0, 0, 0,
     "Reply text for reject_unverified_sender (empty = the delivery error)."},
    {"unverified_sender_tempfail_action", PARAM_STRING, "$reject_tempfail_action", 0, 0, 0, 0,
     "What to do when reject_unverified_sender fails temporarily."},
    {"virtual_alias_address_length_limit", PARAM_INT, "1000", 0, 0, 0, 0,
     "Longest address produced by virtual alias expansion."},
    {"virtual_alias_domains", PARAM_LIST, "$virtual_alias_maps", 0, 0, 0, 0,
     "Domains whose every address is an alias in virtual_alias_maps."},
    {"virtual_alias_expansion_limit", PARAM_INT, "1000", 0, 0, 1, LONG_MAX,
     "Most addresses one recipient may expand to through virtual_alias_maps."},
    {"virtual_alias_maps", PARAM_LIST, "$virtual_maps", 0, 0, 0, 0,
     "Tables that redirect addresses to other addresses (for any domain)."},
    {"virtual_alias_recursion_limit", PARAM_INT, "1000", 0, 0, 1, LONG_MAX,
     "Deepest nesting of virtual alias expansion."},
    {"virtual_gid_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "Group ID per recipient for virtual(8) deliveries."},
    {"virtual_mailbox_base", PARAM_STRING, "", 0, 0, 0, 0,
     "Directory prefixed to paths found in virtual_mailbox_maps."},
    {"virtual_mailbox_domains", PARAM_LIST, "$virtual_mailbox_maps", 0, 0, 0, 0,
     "Domains delivered by virtual_transport to mailboxes listed in virtual_mailbox_maps."},
    {"virtual_mailbox_limit", PARAM_SIZE, "51200000", 0, 0, 0, LONG_MAX,
     "Largest virtual mailbox file (0 = no limit)."},
    {"virtual_mailbox_lock", PARAM_LIST, "fcntl, dotlock", PARAM_F_NOEFFECT, 0, 0, 0,
     "How virtual mailbox files are locked."},
    {"virtual_mailbox_maps", PARAM_LIST, "", 0, 0, 0, 0,
     "Tables of valid virtual mailbox recipients and their mailbox paths."},
    {"virtual_minimum_uid", PARAM_INT, "100", PARAM_F_NOEFFECT, 0, 0, 0,
     "Lowest user ID accepted from virtual_uid_maps."},
    {"virtual_transport", PARAM_STRING, "virtual", 0, 0, 0, 0,
     "Transport for virtual_mailbox_domains."},
    {"virtual_uid_maps", PARAM_LIST, "", PARAM_F_NOEFFECT, 0, 0, 0,
     "User ID per recipient for virtual(8) deliveries."},
};

static int cmp_def(const void *key, const void *elem)
{
    return strcmp(key, ((const struct param_def *) elem)->name);
}

const struct param_def *param_find(const char *name)
{
    return bsearch(name, registry, ARRAY_LEN(registry), sizeof(registry[0]), cmp_def);
}

const struct param_def *param_registry(size_t *count)
{
    *count = ARRAY_LEN(registry);
    return registry;
}

/* edit_distance - optimal string alignment distance (a swap of two
 * neighbouring characters counts once), giving up above limit */
static size_t edit_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > limit || la > 256 || lb > 256)
        return limit + 1;
    size_t *prev2 = xcalloc(lb + 1, sizeof(size_t));
    size_t *prev = xcalloc(lb + 1, sizeof(size_t));
    size_t *cur = xcalloc(lb + 1, sizeof(size_t));
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(prev2);
    free(prev);
    free(cur);
    return d;
}

const char *param_suggest(const char *name)
{
    size_t len = strlen(name);
    size_t limit = len < 6 ? 1 : len < 16 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < ARRAY_LEN(registry); i++) {
        size_t d = edit_distance(name, registry[i].name, limit);
        if (d < best_d && d > 0) {
            best_d = d;
            best = registry[i].name;
        }
    }
    return best;
}

/* ---- computed defaults ---- */

static char *default_myhostname(struct config *cfg)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0 || host[0] == 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = 0;
    if (strchr(host, '.') != NULL)
        return xstrdup(host);
    /* a short host name gets the configured domain, as Postfix does */
    const char *domain = config_is_set(cfg, "mydomain") ? config_get(cfg, "mydomain") : "";
    return xasprintf("%s.%s", host, *domain ? domain : "localdomain");
}

static char *default_mydomain(struct config *cfg)
{
    const char *dot = strchr(config_get(cfg, "myhostname"), '.');
    return xstrdup(dot != NULL && dot[1] != 0 ? dot + 1 : "localdomain");
}

struct net_addr {
    int family;
    unsigned char addr[16];
    unsigned char mask[16];
};

static unsigned prefix_len(const unsigned char *mask, size_t n)
{
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = 7; b >= 0; b--) {
            if (!(mask[i] & (1u << b)))
                return bits;
            bits++;
        }
    return bits;
}

/* add_network - "a.b.c.d/len" or "[v6]/len" for one interface address */
static void add_network(struct strlist *out, const struct net_addr *a, const char *style)
{
    size_t n = a->family == AF_INET ? 4 : 16;
    unsigned len = prefix_len(a->mask, n);
    if (str_eq_nocase(style, "host")) {
        len = (unsigned) n * 8;
    } else if (str_eq_nocase(style, "class") && a->family == AF_INET) {
        unsigned first = a->addr[0];
        len = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
    }
    unsigned char net[16];
    for (size_t i = 0; i < n; i++) {
        unsigned keep = len >= (i + 1) * 8 ? 8 : len > i * 8 ? len - (unsigned) i * 8 : 0;
        net[i] = (unsigned char) (a->addr[i] & (keep ? 0xffu << (8 - keep) : 0));
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(a->family, net, text, sizeof(text));
    char *item =
        a->family == AF_INET ? xasprintf("%s/%u", text, len) : xasprintf("[%s]/%u", text, len);
    for (size_t i = 0; i < out->count; i++)
        if (strcmp(out->items[i], item) == 0) {
            free(item);
            return;
        }
    strlist_add_owned(out, item);
}

/* get_list - like config_get_list, but a bad list (config_check reports it)
 * gives the items before the error instead of stopping the program */
static void get_list(struct config *cfg, const char *name, struct strlist *out)
{
    char *err = NULL;
    if (str_split_list(config_get(cfg, name), LIST_SEPS, out, &err) < 0)
        free(err);
}

static bool protocol_enabled(struct config *cfg, int family)
{
    struct strlist protos;
    strlist_init(&protos);
    get_list(cfg, "inet_protocols", &protos);
    bool on = false;
    for (size_t i = 0; i < protos.count; i++) {
        const char *p = protos.items[i];
        if (str_eq_nocase(p, "all") || (family == AF_INET && str_eq_nocase(p, "ipv4")) ||
            (family == AF_INET6 && str_eq_nocase(p, "ipv6")))
            on = true;
    }
    strlist_free(&protos);
    return on;
}

/* interface_wanted - whether inet_interfaces selects this address */
static bool interface_wanted(const struct strlist *ifaces, const struct net_addr *a)
{
    for (size_t i = 0; i < ifaces->count; i++) {
        const char *want = ifaces->items[i];
        if (str_eq_nocase(want, "all"))
            return true;
        if (str_eq_nocase(want, "loopback-only")) {
            static const unsigned char v6_loopback[16] = {[15] = 1};
            if ((a->family == AF_INET && a->addr[0] == 127) ||
                (a->family == AF_INET6 && memcmp(a->addr, v6_loopback, 16) == 0))
                return true;
            continue;
        }
        struct addrinfo hints = {.ai_family = a->family, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        char *host = xstrdup(want);
        char *h = host;
        size_t hl = strlen(h);
        if (hl > 1 && h[0] == '[' && h[hl - 1] == ']') {
            h[hl - 1] = 0;
            h++;
        }
        if (getaddrinfo(h, NULL, &hints, &res) == 0) {
            for (struct addrinfo *r = res; r; r = r->ai_next) {
                const void *p =
                    r->ai_family == AF_INET
                        ? (const void *) &((struct sockaddr_in *) r->ai_addr)->sin_addr
                        : (const void *) &((struct sockaddr_in6 *) r->ai_addr)->sin6_addr;
                if (r->ai_family == a->family &&
                    memcmp(p, a->addr, a->family == AF_INET ? 4 : 16) == 0) {
                    freeaddrinfo(res);
                    free(host);
                    return true;
                }
            }
            freeaddrinfo(res);
        }
        free(host);
    }
    return false;
}

static char *default_mynetworks(struct config *cfg)
{
    const char *style = config_get(cfg, "mynetworks_style");
    if (!str_eq_nocase(style, "host") && !str_eq_nocase(style, "subnet") &&
        !str_eq_nocase(style, "class")) {
        log_warnx("unknown mynetworks_style value \"%s\"; using \"host\"", style);
        style = "host";
    }
    struct strlist ifaces, nets;
    strlist_init(&ifaces);
    strlist_init(&nets);
    get_list(cfg, "inet_interfaces", &ifaces);
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) == -1)
        list = NULL;
    static const int families[] = {AF_INET, AF_INET6};
    for (size_t f = 0; f < ARRAY_LEN(families); f++) {
        if (!protocol_enabled(cfg, families[f]))
            continue;
        for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next) {
            if (i->ifa_addr == NULL || i->ifa_netmask == NULL ||
                i->ifa_addr->sa_family != families[f])
                continue;
            struct net_addr a = {.family = families[f]};
            if (families[f] == AF_INET) {
                memcpy(a.addr, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
                memcpy(a.mask, &((struct sockaddr_in *) i->ifa_netmask)->sin_addr, 4);
            } else {
                memcpy(a.addr, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
                memcpy(a.mask, &((struct sockaddr_in6 *) i->ifa_netmask)->sin6_addr, 16);
            }
            if (interface_wanted(&ifaces, &a))
                add_network(&nets, &a, style);
        }
    }
    if (list)
        freeifaddrs(list);
    char *result = nets.count ? strlist_join(&nets, " ") : NULL;
    strlist_free(&ifaces);
    strlist_free(&nets);
    return result ? result : xstrdup(param_find("mynetworks")->def);
}

char *param_computed_default(struct config *cfg, const char *name)
{
    if (strcmp(name, "myhostname") == 0)
        return default_myhostname(cfg);
    if (strcmp(name, "mydomain") == 0)
        return default_mydomain(cfg);
    if (strcmp(name, "mynetworks") == 0)
        return default_mynetworks(cfg);
    const struct param_def *def = param_find(name);
    return xstrdup(def ? def->def : "");
}

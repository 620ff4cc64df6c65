/*
 * master - `postern run` / `postern start`: load main.cf and master.cf,
 * compile every smtpd service (main.cf plus its -o overrides), bind their
 * listening sockets, drop privileges to mail_owner when started as root,
 * and keep postern_smtpd_workers worker processes running.  SIGHUP reloads:
 * a configuration that does not load is refused and the old one keeps
 * running; otherwise new workers start with the new configuration and the
 * old ones stop accepting and finish their sessions.  SIGTERM stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smtp/smtp_int.h"
#include "table/table.h"

#define MAX_WORKERS 256

struct listener {
    char *addr; /* "127.0.0.1:25" */
    int fd;
    bool used;
};

struct generation {
    struct config *cfg;
    struct master_config master;
    struct service *services;
    size_t n_services;
    pid_t pids[MAX_WORKERS];
    int n_workers;
    bool retired;
};

static volatile sig_atomic_t got_term, got_hup, got_chld;
static pid_t anvil_pid = -1;
static pid_t master_pid; /* children compare their parent with it */
static char *anvil_path;
static struct listener *listeners;
static size_t n_listeners;

static void on_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGINT)
        got_term = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGCHLD)
        got_chld = 1;
}

/* ---- addresses ---- */

static int service_port(const char *name)
{
    static const struct {
        const char *name;
        int port;
    } known[] = {{"smtp", 25}, {"submission", 587}, {"smtps", 465}, {"submissions", 465}};
    long p;
    if (str_to_long(name, &p) == 0 && p > 0 && p < 65536)
        return (int) p;
    for (size_t i = 0; i < ARRAY_LEN(known); i++)
        if (strcasecmp(name, known[i].name) == 0)
            return known[i].port;
    struct servent *se = getservbyname(name, "tcp");
    return se ? ntohs((uint16_t) se->s_port) : -1;
}

/* bind_one - a listening socket for host:port, reused across reloads */
static int bind_one(const char *host, int port, char **err)
{
    char key[300];
    snprintf(key, sizeof(key), "%s:%d", host, port);
    for (size_t i = 0; i < n_listeners; i++)
        if (strcmp(listeners[i].addr, key) == 0) {
            listeners[i].used = true;
            return listeners[i].fd;
        }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    int gai = getaddrinfo(*host ? host : NULL, portbuf, &hints, &res);
    if (gai != 0) {
        *err = xasprintf("%s: %s", key, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd != -1) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (fd == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, 1024) == -1) {
        *err = xasprintf("bind %s: %s", key, strerror(errno));
        if (fd != -1)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    evutil_make_socket_nonblocking(fd);
    listeners = xreallocarray(listeners, n_listeners + 1, sizeof(*listeners));
    listeners[n_listeners].addr = xstrdup(key);
    listeners[n_listeners].fd = fd;
    listeners[n_listeners].used = true;
    n_listeners++;
    return fd;
}

/* service_addresses - host part of a service name, or inet_interfaces */
static int bind_service(struct service *svc, struct config *cfg, struct strlist *errors)
{
    char *name = xstrdup(svc->name);
    char *colon = strrchr(name, ':');
    struct strlist hosts;
    strlist_init(&hosts);
    const char *portname = name;
    if (colon) {
        *colon = 0;
        portname = colon + 1;
        char *h = name;
        size_t hl = strlen(h);
        if (hl > 1 && h[0] == '[' && h[hl - 1] == ']') {
            h[hl - 1] = 0;
            h++;
        }
        strlist_add(&hosts, h);
    } else {
        struct strlist ifs;
        strlist_init(&ifs);
        config_get_list(cfg, "inet_interfaces", &ifs);
        const char *protocols = config_get(cfg, "inet_protocols");
        bool v4 = strstr(protocols, "ipv4") || strstr(protocols, "all");
        bool v6 = strstr(protocols, "ipv6") || strstr(protocols, "all");
        for (size_t i = 0; i < ifs.count; i++) {
            if (strcasecmp(ifs.items[i], "all") == 0) {
                if (v4)
                    strlist_add(&hosts, "0.0.0.0");
                if (v6)
                    strlist_add(&hosts, "::");
            } else if (strcasecmp(ifs.items[i], "loopback-only") == 0) {
                if (v4)
                    strlist_add(&hosts, "127.0.0.1");
                if (v6)
                    strlist_add(&hosts, "::1");
            } else {
                strlist_add(&hosts, ifs.items[i]);
            }
        }
        strlist_free(&ifs);
    }
    int port = service_port(portname);
    if (port <= 0) {
        strlist_add_owned(
            errors, xasprintf("master.cf: service %s: unknown port \"%s\"", svc->name, portname));
        free(name);
        strlist_free(&hosts);
        return -1;
    }
    svc->fds = xcalloc(hosts.count + 1, sizeof(int));
    for (size_t i = 0; i < hosts.count; i++) {
        char *err = NULL;
        int fd = bind_one(hosts.items[i], port, &err);
        if (fd == -1) {
            strlist_add_owned(errors, err);
            continue;
        }
        svc->fds[svc->n_fds++] = fd;
    }
    free(name);
    strlist_free(&hosts);
    return svc->n_fds > 0 ? 0 : -1;
}

/* ---- services ---- */

static int bare_newline_mode(const char *v)
{
    if (strcasecmp(v, "reject") == 0)
        return 2;
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "normalize") == 0)
        return 1;
    return 0;
}

static void service_settings(struct service *svc)
{
    struct config *c = svc->cfg;
    svc->myhostname = config_get(c, "myhostname");
    svc->banner = config_get(c, "smtpd_banner");
    svc->syslog_name = xstrdup(config_get(c, "syslog_name"));
    svc->log_tag = xasprintf("%s/smtpd", svc->syslog_name);
    svc->cleanup_tag = xasprintf("%s/cleanup", svc->syslog_name);
    svc->line_length_limit = config_get_int(c, "line_length_limit");
    if (svc->line_length_limit < 512)
        svc->line_length_limit = 512;
    svc->message_size_limit = (long) config_get_size(c, "message_size_limit");
    svc->timeout_ms = config_get_time_ms(c, "smtpd_timeout");
    svc->starttls_timeout_ms = config_get_time_ms(c, "smtpd_starttls_timeout");
    svc->proxy_timeout_ms = config_get_time_ms(c, "smtpd_upstream_proxy_timeout");
    svc->error_sleep_ms = config_get_time_ms(c, "smtpd_error_sleep_time");
    svc->hard_error_limit = config_get_int(c, "smtpd_hard_error_limit");
    svc->soft_error_limit = config_get_int(c, "smtpd_soft_error_limit");
    svc->junk_command_limit = config_get_int(c, "smtpd_junk_command_limit");
    svc->recipient_limit = config_get_int(c, "smtpd_recipient_limit");
    svc->recipient_overshoot_limit = config_get_int(c, "smtpd_recipient_overshoot_limit");
    svc->delay_reject = config_get_bool(c, "smtpd_delay_reject");
    svc->helo_required = config_get_bool(c, "smtpd_helo_required");
    svc->disable_vrfy = config_get_bool(c, "disable_vrfy_command");
    svc->strict_envelopes = config_get_bool(c, "strict_rfc821_envelopes");
    svc->smtputf8 = config_get_bool(c, "smtputf8_enable");
    svc->sasl_enable = config_get_bool(c, "smtpd_sasl_auth_enable");
    svc->tls_auth_only = config_get_bool(c, "smtpd_tls_auth_only");
    svc->tls_level = config_get(c, "smtpd_tls_security_level");
    svc->implicit_tls = config_get_bool(c, "smtpd_tls_wrappermode");
    svc->proxy_protocol =
        strcasecmp(config_get(c, "smtpd_upstream_proxy_protocol"), "haproxy") == 0;
    svc->forbid_bare_newline = bare_newline_mode(config_get(c, "smtpd_forbid_bare_newline"));
    svc->forbid_unauth_pipelining = config_get_bool(c, "smtpd_forbid_unauth_pipelining");
    strlist_init(&svc->discard_ehlo);
    config_get_list(c, "smtpd_discard_ehlo_keywords", &svc->discard_ehlo);
    struct strlist maps;
    strlist_init(&maps);
    config_get_list(c, "smtpd_discard_ehlo_keyword_address_maps", &maps);
    svc->discard_maps = xcalloc(maps.count + 1, sizeof(*svc->discard_maps));
    for (size_t i = 0; i < maps.count; i++)
        svc->discard_maps[svc->n_discard_maps++] = table_open(maps.items[i], TABLE_OPEN_FOLD);
    strlist_free(&maps);
    strlist_init(&maps);
    config_get_list(c, "smtpd_reject_footer_maps", &maps);
    svc->footer_maps = xcalloc(maps.count + 1, sizeof(*svc->footer_maps));
    for (size_t i = 0; i < maps.count; i++)
        svc->footer_maps[svc->n_footer_maps++] = table_open(maps.items[i], 0);
    strlist_free(&maps);
    svc->soft_bounce = config_get_bool(c, "soft_bounce");
    svc->per_request_deadline = config_get_bool(c, "smtpd_per_request_deadline");
    svc->min_data_rate = config_get_int(c, "smtpd_min_data_rate");
    svc->replace_stray_cr = config_get_bool(c, "cleanup_replace_stray_cr_lf");
    const char *protocols = config_get(c, "inet_protocols");
    svc->ipv6 = strstr(protocols, "ipv6") || strstr(protocols, "all");
    strlist_init(&svc->forbidden);
    config_get_list(c, "smtpd_forbidden_commands", &svc->forbidden);
    svc->forbidden_tables = xcalloc(svc->forbidden.count + 1, sizeof(*svc->forbidden_tables));
    for (size_t i = 0; i < svc->forbidden.count; i++)
        if (strchr(svc->forbidden.items[i], ':'))
            svc->forbidden_tables[i] = table_open(svc->forbidden.items[i], TABLE_OPEN_FOLD);
    strlist_init(&svc->noop_commands);
    config_get_list(c, "smtpd_noop_commands", &svc->noop_commands);
}

static void service_lists(struct service *svc, struct strlist *errors)
{
    struct config *c = svc->cfg;
    svc->xclient_hosts =
        policy_match_new(c, "smtpd_authorized_xclient_hosts", POLICY_LIST_HOSTADDRS, errors);
    svc->xforward_hosts =
        policy_match_new(c, "smtpd_authorized_xforward_hosts", POLICY_LIST_HOSTADDRS, errors);
    svc->flush_domains = policy_match_new(c, "fast_flush_domains", POLICY_LIST_DOMAINS, errors);
    svc->bare_newline_exclusions =
        policy_match_new(c, "smtpd_forbid_bare_newline_exclusions", POLICY_LIST_HOSTADDRS, errors);
    svc->sasl_exceptions =
        policy_match_new(c, "smtpd_sasl_exceptions_networks", POLICY_LIST_HOSTADDRS, errors);
    svc->limit_exceptions =
        policy_match_new(c, "smtpd_client_event_limit_exceptions", POLICY_LIST_HOSTADDRS, errors);
    svc->conn_count_limit = config_get_int(c, "smtpd_client_connection_count_limit");
    svc->conn_rate_limit = config_get_int(c, "smtpd_client_connection_rate_limit");
    svc->msg_rate_limit = config_get_int(c, "smtpd_client_message_rate_limit");
    svc->rcpt_rate_limit = config_get_int(c, "smtpd_client_recipient_rate_limit");
    svc->tls_rate_limit = config_get_int(c, "smtpd_client_new_tls_session_rate_limit");
    svc->auth_rate_limit = config_get_int(c, "smtpd_client_auth_rate_limit");
}

static void free_tables(struct table **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        table_close(t[i]);
    free(t);
}

/* service_free - what service_settings, service_lists and load_generation
 * made (the listening sockets belong to the listener list) */
static void service_free(struct service *svc, struct config *main_cfg)
{
    policy_free(svc->policy);
    tls_server_free(svc->tls);
    free(svc->name);
    free(svc->syslog_name);
    free(svc->log_tag);
    free(svc->cleanup_tag);
    free(svc->fds);
    strlist_free(&svc->discard_ehlo);
    free_tables(svc->discard_maps, svc->n_discard_maps);
    free_tables(svc->footer_maps, svc->n_footer_maps);
    for (size_t i = 0; i < svc->forbidden.count; i++)
        if (svc->forbidden_tables && svc->forbidden_tables[i])
            table_close(svc->forbidden_tables[i]);
    free(svc->forbidden_tables);
    strlist_free(&svc->forbidden);
    strlist_free(&svc->noop_commands);
    policy_match_free(svc->xclient_hosts);
    policy_match_free(svc->xforward_hosts);
    policy_match_free(svc->flush_domains);
    policy_match_free(svc->bare_newline_exclusions);
    policy_match_free(svc->sasl_exceptions);
    policy_match_free(svc->limit_exceptions);
    if (svc->cfg != main_cfg)
        config_free(svc->cfg);
}

static void free_generation(struct generation *g)
{
    for (size_t i = 0; i < g->n_services; i++)
        service_free(&g->services[i], g->cfg);
    free(g->services);
    master_free(&g->master);
    config_free(g->cfg);
    free(g);
}

/* load_generation - parse and compile; NULL with errors */
static struct generation *load_generation(const char *dir, struct strlist *errors)
{
    struct generation *g = xcalloc(1, sizeof(*g));
    g->cfg = config_load_main(dir, errors);
    if (g->cfg == NULL) {
        free(g);
        return NULL;
    }
    config_check(g->cfg, errors);
    char *mpath = xasprintf("%s/master.cf", dir);
    master_load(mpath, true, &g->master, errors);
    free(mpath);
    config_warn_unused(g->cfg, &g->master);
    if (errors->count)
        goto fail;
    for (size_t i = 0; i < g->master.count; i++) {
        const struct master_service *ms = &g->master.services[i];
        if (strcmp(ms->type, "inet") != 0 || strcmp(ms->command, "smtpd") != 0)
            continue;
        g->services = xreallocarray(g->services, g->n_services + 1, sizeof(*g->services));
        struct service *svc = &g->services[g->n_services++];
        memset(svc, 0, sizeof(*svc));
        svc->name = xstrdup(ms->name);
        svc->cfg = master_service_config(g->cfg, ms);
    }
    if (g->n_services == 0) {
        g->services = xcalloc(1, sizeof(*g->services));
        g->services[0].name = xstrdup("smtp");
        g->services[0].cfg = g->cfg;
        g->n_services = 1;
    }
    for (size_t i = 0; i < g->n_services; i++) {
        struct service *svc = &g->services[i];
        if (config_check(svc->cfg, errors) > 0)
            goto fail;
        service_settings(svc);
        service_lists(svc, errors);
        svc->policy = policy_compile(svc->cfg, errors);
        if (svc->policy == NULL)
            goto fail;
        const char *level = svc->tls_level;
        if (*level && strcasecmp(level, "none") != 0) {
            char *err = NULL;
            svc->tls = tls_server_new(svc->cfg, &err);
            if (svc->tls == NULL && err) {
                strlist_add_owned(errors, xasprintf("service %s: TLS: %s", svc->name, err));
                free(err);
                goto fail;
            }
            if (svc->tls == NULL && strcasecmp(level, "encrypt") == 0) {
                strlist_add_owned(errors,
                                  xasprintf("service %s: smtpd_tls_security_level = encrypt "
                                            "needs smtpd_tls_cert_file and smtpd_tls_key_file",
                                            svc->name));
                goto fail;
            }
        }
        if (svc->implicit_tls && svc->tls == NULL) {
            char *err = NULL;
            svc->tls = tls_server_new(svc->cfg, &err);
            if (svc->tls == NULL) {
                strlist_add_owned(errors, xasprintf("service %s: smtpd_tls_wrappermode needs a "
                                                    "certificate%s%s",
                                                    svc->name, err ? ": " : "", err ? err : ""));
                free(err);
                goto fail;
            }
        }
    }
    return g;
fail:
    free_generation(g);
    return NULL;
}

/* ---- privileges ---- */

static void chown_tree(const char *path, uid_t uid, gid_t gid, int depth)
{
    if (chown(path, uid, gid) == -1 && errno != ENOENT)
        log_warn("chown %s", path);
    if (depth <= 0)
        return;
    static const char *const subdirs[] = {"incoming", "active", "deferred", "hold",
                                          "corrupt",  "tmp",    "pid",      "private"};
    for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
        char *p = xasprintf("%s/%s", path, subdirs[i]);
        struct stat st;
        if (stat(p, &st) == 0)
            chown_tree(p, uid, gid, 0);
        free(p);
    }
}

/*
 * The master keeps root, as Postfix's does, so that a reload can bind a
 * new privileged port; it runs no client code.  Each worker and anvil
 * set themselves up as root (tables, certificates, the SASL password file
 * may be readable by root only) and then run as mail_owner.
 */
static uid_t owner_uid;
static gid_t owner_gid;
static bool owner_known;

/* lookup_owner - mail_owner's uid and gid (started as root); 0, or -1
 * with *err */
static int lookup_owner(struct config *cfg, char **err)
{
    if (geteuid() != 0)
        return 0;
    const char *owner = config_get(cfg, "mail_owner");
    struct passwd *pw = getpwnam(owner);
    if (pw == NULL) {
        *err = xasprintf("mail_owner %s: no such user; create it or set mail_owner", owner);
        return -1;
    }
    if (pw->pw_uid == 0) {
        *err = xasprintf("mail_owner %s: must not be a privileged account", owner);
        return -1;
    }
    owner_uid = pw->pw_uid;
    owner_gid = pw->pw_gid;
    owner_known = true;
    return 0;
}

/* prepare_owner - give mail_owner the queue */
static void prepare_owner(struct config *cfg)
{
    if (!owner_known)
        return;
    chown_tree(config_get(cfg, "queue_directory"), owner_uid, owner_gid, 1);
    chown_tree(config_get(cfg, "data_directory"), owner_uid, owner_gid, 0);
}

/* become_owner - for a child, once it is set up */
static void become_owner(void)
{
    if (!owner_known)
        return;
    if (setgroups(1, &owner_gid) == -1 || setgid(owner_gid) == -1 || setuid(owner_uid) == -1)
        fatal("drop privileges to mail_owner");
    /* a change of credentials clears the parent-death signal: again */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master_pid)
        _exit(0); /* the master went before the signal was set */
}

/* ---- processes ---- */

/* start_anvil - the shared counter process for client limits */
static void start_anvil(struct config *cfg)
{
    /* Relative to the queue directory, the working directory of every
     * process: it stays reachable after privileges are dropped, whatever
     * the permissions of the directories above it (as Postfix's private/). */
    free(anvil_path);
    anvil_path = xstrdup("private/anvil");
    unlink(anvil_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", anvil_path);
    if (fd == -1 || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) == -1 ||
        listen(fd, 128) == -1) {
        log_warn("anvil socket %s; client limits are not enforced", anvil_path);
        if (fd != -1)
            close(fd);
        return;
    }
    /* bound by root: the workers connect as mail_owner */
    if (owner_known && chown(anvil_path, owner_uid, owner_gid) == -1)
        log_warn("chown %s", anvil_path);
    evutil_make_socket_nonblocking(fd);
    anvil_pid = fork();
    if (anvil_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (size_t i = 0; i < n_listeners; i++)
            close(listeners[i].fd);
        log_set_service(config_get(cfg, "syslog_name"), "anvil");
        become_owner();
        _exit(anvil_server_run(fd, config_get_time(cfg, "anvil_rate_time_unit")));
    }
    close(fd);
}

static pid_t spawn_worker(struct generation *g)
{
    pid_t pid = fork();
    if (pid == -1) {
        log_warn("fork");
        return -1;
    }
    if (pid > 0)
        return pid;
    /* the worker: it goes when the master goes (even killed with -9) */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master_pid)
        _exit(0); /* the master went before the signal was set */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGINT, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    log_set_service(config_get(g->cfg, "syslog_name"), "smtpd");
    struct worker w = {.services = g->services,
                       .n_services = g->n_services,
                       .main_cfg = g->cfg,
                       .anvil_path = anvil_path,
                       .drop_privileges = become_owner};
    /* Only this generation's sockets stay open. */
    for (size_t i = 0; i < n_listeners; i++) {
        bool mine = false;
        for (size_t s = 0; s < g->n_services; s++)
            for (size_t k = 0; k < g->services[s].n_fds; k++)
                mine |= g->services[s].fds[k] == listeners[i].fd;
        if (!mine)
            close(listeners[i].fd);
    }
    _exit(worker_run(&w));
}

static int worker_count(struct config *cfg)
{
    long n = config_get_int(cfg, "postern_smtpd_workers");
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? cpus : 1;
    }
    return n > MAX_WORKERS ? MAX_WORKERS : (int) n;
}

static void start_workers(struct generation *g)
{
    g->n_workers = worker_count(g->cfg);
    for (int i = 0; i < g->n_workers; i++)
        g->pids[i] = spawn_worker(g);
}

static void signal_workers(struct generation *g, int sig)
{
    for (int i = 0; i < g->n_workers; i++)
        if (g->pids[i] > 0)
            kill(g->pids[i], sig);
}

static bool any_alive(struct generation *g)
{
    for (int i = 0; i < g->n_workers; i++)
        if (g->pids[i] > 0)
            return true;
    return false;
}

/* reap - collect exited workers; restart current ones that died */
static void reap(struct generation *cur, struct generation **old, size_t n_old)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == anvil_pid) {
            anvil_pid = -1;
            if (!got_term) {
                log_warnx("process anvil pid %d exited; restarting it", (int) pid);
                start_anvil(cur->cfg);
            }
            continue;
        }
        for (int i = 0; i < cur->n_workers; i++) {
            if (cur->pids[i] != pid)
                continue;
            cur->pids[i] = -1;
            if (!got_term) {
                if (WIFSIGNALED(status))
                    log_warnx("process smtpd pid %d killed by signal %d", (int) pid,
                              WTERMSIG(status));
                else
                    log_warnx("process smtpd pid %d exit status %d", (int) pid,
                              WEXITSTATUS(status));
                usleep(100000); /* do not spin when a worker cannot start */
                cur->pids[i] = spawn_worker(cur);
            }
        }
        for (size_t g = 0; g < n_old; g++)
            for (int i = 0; i < old[g]->n_workers; i++)
                if (old[g]->pids[i] == pid)
                    old[g]->pids[i] = -1;
    }
}

/* ---- pid file ---- */

/* data_directory_fallback - data_directory as main.cf sets it, read line by
 * line: stop, status and reload must find the running server even when
 * main.cf no longer parses (an unexpanded value, or the default) */
static char *data_directory_fallback(const char *config_dir)
{
    char *path = xasprintf("%s/main.cf", config_dir);
    FILE *f = fopen(path, "r");
    free(path);
    char *value = NULL;
    char line[4096];
    while (f && fgets(line, sizeof(line), f)) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, "data_directory", 14) != 0 || line != p)
            continue;
        p += 14;
        p += strspn(p, " \t");
        if (*p != '=')
            continue;
        p++;
        p += strspn(p, " \t");
        p[strcspn(p, "\r\n")] = 0;
        free(value);
        value = xstrdup(str_trim(p));
    }
    if (f)
        fclose(f);
    if (value == NULL || *value == 0 || strchr(value, '$')) {
        free(value);
        struct config *defaults = config_new(config_dir, NULL);
        value = xstrdup(config_get(defaults, "data_directory"));
        config_free(defaults);
    }
    return value;
}

char *smtp_pid_file(const char *config_dir)
{
    struct strlist errors;
    strlist_init(&errors);
    struct config *cfg = config_load_main(config_dir, &errors);
    strlist_free(&errors);
    if (cfg == NULL) {
        char *dir = data_directory_fallback(config_dir);
        char *path = xasprintf("%s/postern.pid", dir);
        free(dir);
        return path;
    }
    char *path = xasprintf("%s/postern.pid", config_get(cfg, "data_directory"));
    config_free(cfg);
    return path;
}

int smtp_config_check(const char *config_dir, struct strlist *errors)
{
    struct generation *g = load_generation(config_dir, errors);
    if (g == NULL)
        return -1;
    free_generation(g);
    return 0;
}

static void write_pid_file(struct config *cfg)
{
    const char *dir = config_get(cfg, "data_directory");
    mkdir(dir, 0755);
    char *path = xasprintf("%s/postern.pid", dir);
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%ld\n", (long) getpid()) < 0 || fclose(f) != 0 ||
        rename(tmp, path) == -1)
        log_warn("write pid file %s", path);
    free(tmp);
    free(path);
}

static void remove_pid_file(struct config *cfg)
{
    char *path = xasprintf("%s/postern.pid", config_get(cfg, "data_directory"));
    unlink(path);
    free(path);
}

static void open_log(struct config *cfg)
{
    log_set_hostname(config_get(cfg, "myhostname"));
    const char *file = config_get(cfg, "maillog_file");
    if (*file) {
        if (log_open_file(file) == -1)
            fatal("open maillog_file %s", file);
    } else {
        log_open_syslog(config_get(cfg, "syslog_facility"));
    }
    log_set_service(config_get(cfg, "syslog_name"), "master");
}

/* ---- the run loop ---- */

int smtp_run(const char *config_dir, bool daemonize)
{
    struct strlist errors;
    strlist_init(&errors);
    struct generation *cur = load_generation(config_dir, &errors);
    if (cur == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "postern: fatal: %s\n", errors.items[i]);
        if (errors.count == 0)
            fprintf(stderr, "postern: fatal: cannot load the configuration in %s\n", config_dir);
        return 1;
    }
    for (size_t i = 0; i < cur->n_services; i++)
        if (bind_service(&cur->services[i], cur->cfg, &errors) == -1) {
            for (size_t k = 0; k < errors.count; k++)
                fprintf(stderr, "postern: fatal: %s\n", errors.items[k]);
            return 1;
        }
    char *err = NULL;
    if (lookup_owner(cur->cfg, &err) == -1) {
        fprintf(stderr, "postern: fatal: %s\n", err);
        return 1;
    }
    struct queue *q = queue_open(config_get(cur->cfg, "queue_directory"), NULL, 0, &err);
    if (q == NULL) {
        fprintf(stderr, "postern: fatal: queue: %s\n", err ? err : "cannot create");
        return 1;
    }
    /* No worker runs yet: what is in tmp/ was cut short by a stop or crash. */
    queue_remove_temporary(q);
    queue_close(q);
    char *private_dir = xasprintf("%s/private", config_get(cur->cfg, "queue_directory"));
    if (mkdir(private_dir, 0700) == -1 && errno != EEXIST) {
        fprintf(stderr, "postern: fatal: mkdir %s: %s\n", private_dir, strerror(errno));
        return 1;
    }
    free(private_dir);
    if (daemonize) {
        pid_t pid = fork();
        if (pid == -1) {
            perror("postern: fork");
            return 1;
        }
        if (pid > 0)
            return 0; /* the command waits for the pid file */
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2)
                close(null);
        }
    }
    open_log(cur->cfg);
    if (!daemonize && !*config_get(cur->cfg, "maillog_file"))
        log_also_stderr(true);
    write_pid_file(cur->cfg);
    /* Every process works from the queue directory (see start_anvil). */
    if (chdir(config_get(cur->cfg, "queue_directory")) == -1)
        fatal("chdir %s", config_get(cur->cfg, "queue_directory"));
    prepare_owner(cur->cfg);
    master_pid = getpid();
    log_info("daemon started -- version %s, configuration %s", POSTERN_VERSION, config_dir);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    start_anvil(cur->cfg);
    start_workers(cur);
    struct generation **old = NULL;
    size_t n_old = 0;
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &orig);
    while (!got_term) {
        if (!got_hup && !got_chld)
            sigsuspend(&orig);
        if (got_chld) {
            got_chld = 0;
            reap(cur, old, n_old);
        }
        if (got_hup) {
            got_hup = 0;
            struct strlist rerrors;
            strlist_init(&rerrors);
            for (size_t i = 0; i < n_listeners; i++)
                listeners[i].used = false;
            struct generation *next = load_generation(config_dir, &rerrors);
            bool bound = next != NULL;
            for (size_t i = 0; bound && i < next->n_services; i++)
                if (bind_service(&next->services[i], next->cfg, &rerrors) == -1)
                    bound = false;
            if (!bound) {
                for (size_t i = 0; i < rerrors.count; i++)
                    log_warnx("reload refused: %s", rerrors.items[i]);
                log_warnx("reload refused: the running configuration stays in effect");
                for (size_t i = 0; i < n_listeners; i++)
                    listeners[i].used = true;
            } else {
                log_info("reload -- version %s, configuration %s", POSTERN_VERSION, config_dir);
                table_cache_clear();
                start_workers(next);
                signal_workers(cur, SIGUSR1);
                cur->retired = true;
                old = xreallocarray(old, n_old + 1, sizeof(*old));
                old[n_old++] = cur;
                cur = next;
            }
            strlist_free(&rerrors);
        }
        /* Close sockets no generation uses once the old workers are gone. */
        bool old_alive = false;
        for (size_t g = 0; g < n_old; g++)
            old_alive |= any_alive(old[g]);
        if (!old_alive && n_old) {
            for (size_t i = 0; i < n_listeners;) {
                if (!listeners[i].used) {
                    close(listeners[i].fd);
                    free(listeners[i].addr);
                    listeners[i] = listeners[--n_listeners];
                } else {
                    i++;
                }
            }
            for (size_t g = 0; g < n_old; g++)
                free_generation(old[g]);
            n_old = 0;
        }
    }
    log_info("terminating on signal");
    signal_workers(cur, SIGTERM);
    if (anvil_pid > 0)
        kill(anvil_pid, SIGTERM);
    for (size_t g = 0; g < n_old; g++)
        signal_workers(old[g], SIGTERM);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    remove_pid_file(cur->cfg);
    if (anvil_path)
        unlink(anvil_path);
    for (size_t g = 0; g < n_old; g++)
        free_generation(old[g]);
    free(old);
    free_generation(cur);
    for (size_t i = 0; i < n_listeners; i++) {
        close(listeners[i].fd);
        free(listeners[i].addr);
    }
    free(listeners);
    free(anvil_path);
    table_cache_clear();
    if (daemonize)
        exit(0); /* the daemon: nothing to return to */
    return 0;
}

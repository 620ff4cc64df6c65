/*
 * queue_id - queue IDs in the form of Postfix's long queue IDs
 * (enable_long_queue_ids = yes; Postfix global/mail_queue.h, MQID_LG_*):
 *
 *     seconds  base 52, at least 6 characters, zero-padded  ("0" is zero)
 *     usec     base 52, exactly 4 characters
 *     'z'      separator
 *     unique   base 51 (the alphabet without 'z'), no padding
 *
 * in Postfix's alphabet of digits and vowel-less letters, most significant
 * digit first, e.g. "4dJZq33KRmz2fVmN".  Postfix puts the file's inode
 * number in the unique part; postern names the file before creating it, so
 * its unique part is (pid << 12 | sequence mod 4096), the sequence starting
 * at an arbitrary point per process.  Log tools that parse Postfix IDs (the
 * alphabet, the 'z' and the lengths) read these unchanged; nothing decodes
 * the unique part.
 *
 * Uniqueness: within a process the time field strictly increases (an ID
 * asked for within the same microsecond as the previous one, or after the
 * clock stepped back, takes the previous time plus one microsecond), so
 * two IDs of one process differ in time and sort by creation in strcmp
 * order; IDs of processes alive at the same time differ in the pid.  A
 * reused pid would also need the same microsecond and sequence.  The file
 * system backs this up: tmp/ID is created with O_EXCL and the commit never
 * replaces an existing file (RENAME_NOREPLACE).  Cost: one vDSO clock read
 * and an uncontended mutex; getpid() once per process.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_int.h"

static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static uint64_t id_last_us;
static unsigned id_seq;
static pid_t id_pid; /* 0 until the first ID of this process */

static void id_prepare(void)
{
    pthread_mutex_lock(&id_mu);
}

static void id_parent(void)
{
    pthread_mutex_unlock(&id_mu);
}

/* id_child - a forked child is another process: new pid, new sequence */
static void id_child(void)
{
    id_pid = 0;
    id_last_us = 0;
    pthread_mutex_unlock(&id_mu);
}

static void id_init(void)
{
    pthread_atfork(id_prepare, id_parent, id_child);
}

/* encode - v in base (MSB first) padded with '0' to pad; returns length */
static size_t encode(char *out, uint64_t v, unsigned base, size_t pad)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = QUEUE_ID_ALPHABET[v % base];
        v /= base;
    } while (v > 0);
    while (n < pad)
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void queue_id_new(char qid[QUEUE_ID_MAX])
{
    pthread_once(&id_once, id_init);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;

    pthread_mutex_lock(&id_mu);
    if (id_pid == 0) {
        id_pid = getpid();
        id_seq = (unsigned) (ts.tv_nsec ^ (id_pid * 2654435761u)) & 0xfff;
    }
    if (now <= id_last_us)
        now = id_last_us + 1;
    id_last_us = now;
    uint64_t uniq = ((uint64_t) (id_pid & 0x3fffff) << 12) | (id_seq++ & 0xfff);
    pthread_mutex_unlock(&id_mu);

    size_t n = encode(qid, now / 1000000u, QUEUE_ID_SEC_BASE, QUEUE_ID_SEC_PAD);
    n += encode(qid + n, now % 1000000u, QUEUE_ID_USEC_BASE, QUEUE_ID_USEC_PAD);
    qid[n++] = QUEUE_ID_SEP;
    n += encode(qid + n, uniq, QUEUE_ID_UNIQ_BASE, 0);
    qid[n] = 0;
}

static int digit(char c, unsigned base)
{
    const char *p = c ? strchr(QUEUE_ID_ALPHABET, c) : NULL;
    if (p == NULL || (unsigned) (p - QUEUE_ID_ALPHABET) >= base)
        return -1;
    return (int) (p - QUEUE_ID_ALPHABET);
}

/* decode - s[0..len) in base; -1 on a bad digit or overflow */
static int decode(const char *s, size_t len, unsigned base, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        int d = digit(s[i], base);
        if (d < 0 || v > (UINT64_MAX - (unsigned) d) / base)
            return -1;
        v = v * base + (unsigned) d;
    }
    *out = v;
    return 0;
}

int queue_id_time(const char *qid, time_t *sec, long *usec)
{
    if (!queue_id_valid(qid))
        return -1;
    const char *sep = strrchr(qid, QUEUE_ID_SEP);
    size_t sec_len = (size_t) (sep - qid) - QUEUE_ID_USEC_PAD;
    uint64_t s, u;
    if (decode(qid, sec_len, QUEUE_ID_SEC_BASE, &s) == -1 ||
        decode(qid + sec_len, QUEUE_ID_USEC_PAD, QUEUE_ID_USEC_BASE, &u) == -1)
        return -1;
    if (sec)
        *sec = (time_t) s;
    if (usec)
        *usec = (long) u;
    return 0;
}

bool queue_id_valid(const char *qid)
{
    if (qid == NULL)
        return false;
    size_t len = strlen(qid);
    if (len < QUEUE_ID_TIME_PAD + 2 || len >= QUEUE_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (digit(qid[i], QUEUE_ID_SEC_BASE) < 0)
            return false;
    const char *sep = strrchr(qid, QUEUE_ID_SEP);
    if (sep == NULL || (size_t) (sep - qid) < QUEUE_ID_TIME_PAD || sep[1] == 0)
        return false;
    uint64_t u;
    if (decode(sep - QUEUE_ID_USEC_PAD, QUEUE_ID_USEC_PAD, QUEUE_ID_USEC_BASE, &u) == -1 ||
        u >= 1000000)
        return false;
    return true;
}

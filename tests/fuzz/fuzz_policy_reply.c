/*
 * fuzz_policy_reply - libFuzzer target for policy_client_parse_reply(), the
 * parser of what a policy server sends back (name=value lines ending with
 * an empty line; only "action" is used).  The input is the server's bytes,
 * at most the client's 8 KiB reply cap.
 *
 * Besides memory errors it checks what the client relies on while a reply
 * arrives in pieces: a result only for a reply that has its empty line; a
 * result that is one line (no CR or LF); and once a prefix of the bytes is
 * complete, more bytes never change the action, so the client may stop
 * reading at the first complete reply.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLY_CAP 8192

static void check_action(const char *action, const uint8_t *data, size_t size)
{
    if (action == NULL)
        return;
    if (strchr(action, '\n') != NULL)
        abort();
    if (strlen(action) > size)
        abort();
    /* a complete reply has an empty line: "\n\n" or "\n\r\n", or starts
     * with one */
    bool empty_line =
        size >= 1 && (data[0] == '\n' || (size >= 2 && data[0] == '\r' && data[1] == '\n'));
    for (size_t i = 0; i + 1 < size && !empty_line; i++)
        if (data[i] == '\n' &&
            (data[i + 1] == '\n' || (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n')))
            empty_line = true;
    if (!empty_line)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > REPLY_CAP)
        return 0;
    /* copy, so that reading past the end is caught even at a page edge */
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    char *full = policy_client_parse_reply(copy, size);
    check_action(full, data, size);

    /* the reply as it arrives: a few cut points */
    size_t cuts[] = {size / 3, size / 2, size - (size > 0), size > 16 ? 16 : size};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char *part = policy_client_parse_reply(copy, cuts[i]);
        check_action(part, data, cuts[i]);
        if (part != NULL && (full == NULL || strcmp(part, full) != 0))
            abort(); /* complete early, but more bytes changed the answer */
        free(part);
    }
    free(full);
    free(copy);
    return 0;
}

/* conf - placeholder until the config module lands. */
#include "cli/cli.h"
int cli_conf(struct cli_context *ctx, int argc, char **argv)
{
    (void) ctx, (void) argc, (void) argv;
    return 2;
}

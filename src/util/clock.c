/* clock - monotonic and wall time in the units the rest of postern uses. */
#include <time.h>

#include "util.h"

uint64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

time_t clock_wall(void)
{
    return time(NULL);
}

/* Prints every shared test vector as encoded by the C library: "name hex" per line. The Python
 * tests decode this output (C -> Python direction). */
#include <stdio.h>

#include "test_vectors_common.h"

int main(void)
{
    static uint8_t buf[FB_MAX_WIRE];
    size_t v, i, n;
    for (v = 0; v < fbv_count; v++) {
        n = fbv_encode(fbv_names[v], buf, sizeof buf);
        if (n == 0) {
            fprintf(stderr, "cannot encode %s\n", fbv_names[v]);
            return 1;
        }
        printf("%s ", fbv_names[v]);
        for (i = 0; i < n; i++) printf("%02x", buf[i]);
        printf("\n");
    }
    return 0;
}

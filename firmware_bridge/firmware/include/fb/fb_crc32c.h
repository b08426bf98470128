/* CRC-32C (Castagnoli): reflected, poly 0x82F63B78, init 0xFFFFFFFF, xorout 0xFFFFFFFF.
 * Check value: fb_crc32c("123456789", 9) == 0xE3069283. */
#ifndef FB_CRC32C_H
#define FB_CRC32C_H
#include <stddef.h>
#include <stdint.h>

#define FB_CRC32C_CHECK 0xE3069283u
#define FB_CRC32C_INIT 0xFFFFFFFFu

/* Incremental form: r = FB_CRC32C_INIT; r = fb_crc32c_update(r, ...)...; crc = r ^ 0xFFFFFFFF. */
uint32_t fb_crc32c_update(uint32_t reg, const uint8_t *data, size_t len);
uint32_t fb_crc32c(const uint8_t *data, size_t len);
#endif

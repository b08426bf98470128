/* Host unit tests of the portable core, the board's sensor logic and the shared vectors.
 * usage: fb_unit_tests [path/to/vectors/frames.txt] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_hal.h"
#include "fb/fb_cobs.h"
#include "fb/fb_crc32c.h"
#include "fb/fb_frame.h"
#include "fb/fb_timesync.h"
#include "test_vectors_common.h"

int g_failures = 0, g_checks = 0;

static uint32_t g_rng = 12345;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static void test_crc(void)
{
    static const uint8_t zeros[32] = {0};
    const uint8_t *check = (const uint8_t *)"123456789";
    uint32_t reg;
    EXPECT(fb_crc32c(check, 9) == FB_CRC32C_CHECK);
    EXPECT(fb_crc32c(check, 9) == 0xE3069283u);
    EXPECT(fb_crc32c(zeros, 0) == 0);
    EXPECT(fb_crc32c(zeros, 32) == 0x8A9136AAu);
    reg = fb_crc32c_update(FB_CRC32C_INIT, check, 4);
    reg = fb_crc32c_update(reg, check + 4, 5);
    EXPECT((reg ^ 0xFFFFFFFFu) == 0xE3069283u);
}

static void cobs_roundtrip(const uint8_t *data, size_t len)
{
    static uint8_t enc[4096], dec[4096];
    size_t n = fb_cobs_encode(data, len, enc, sizeof enc), i;
    long m;
    EXPECT(n > 0 && n <= FB_COBS_MAX_ENCODED(len));
    for (i = 0; i < n; i++) {
        if (enc[i] == 0) {
            EXPECT(enc[i] != 0);
            break;
        }
    }
    m = fb_cobs_decode(enc, n, dec, sizeof dec);
    EXPECT(m == (long)len && memcmp(dec, data, len) == 0);
    m = fb_cobs_decode(enc, n, enc, n); /* in place */
    EXPECT(m == (long)len && memcmp(enc, data, len) == 0);
}

static void test_cobs(void)
{
    static uint8_t buf[1100];
    uint8_t enc[300];
    const uint8_t bad1[] = {0x05, 0x11, 0x22}; /* code runs past the end */
    const uint8_t bad2[] = {0x03, 0x11, 0x00}; /* zero inside a block */
    size_t len, i, trial;
    cobs_roundtrip(buf, 0);
    memset(buf, 0, sizeof buf);
    cobs_roundtrip(buf, 1);
    cobs_roundtrip(buf, 300);
    memset(buf, 0x11, sizeof buf);
    for (len = 252; len <= 256; len++) cobs_roundtrip(buf, len);
    cobs_roundtrip(buf, 1040);
    /* canonical form: 254 non-zero bytes -> FF <254> 01 */
    EXPECT(fb_cobs_encode(buf, 254, enc, sizeof enc) == 256 && enc[0] == 0xFF && enc[255] == 0x01);
    EXPECT(fb_cobs_encode(buf, 253, enc, sizeof enc) == 254 && enc[0] == 0xFE);
    for (trial = 0; trial < 200; trial++) {
        len = rnd() % 1041;
        for (i = 0; i < len; i++) buf[i] = (uint8_t)(rnd() % 4 == 0 ? 0 : rnd());
        cobs_roundtrip(buf, len);
    }
    EXPECT(fb_cobs_decode(bad1, sizeof bad1, buf, sizeof buf) < 0);
    EXPECT(fb_cobs_decode(bad2, sizeof bad2, buf, sizeof buf) < 0);
    EXPECT(fb_cobs_decode(bad1, 0, buf, sizeof buf) < 0);
    EXPECT(fb_cobs_encode(buf, 10, enc, 5) == 0); /* too small */
}

static void test_frame(void)
{
    static uint8_t payload[FB_MAX_PAYLOAD], wire[FB_MAX_WIRE], copy[FB_MAX_WIRE];
    fb_frame_t fr;
    size_t n, i, bit, accepted = 0;
    for (i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7);
    n = fake_make_frame(0x10, 77, payload, FB_MAX_PAYLOAD, wire);
    EXPECT(n > 0 && n <= FB_MAX_WIRE && wire[n - 1] == 0);
    memcpy(copy, wire, n);
    EXPECT(fb_frame_decode(copy, n - 1, &fr) == FB_OK);
    EXPECT(fr.header.type == 0x10 && fr.header.seq == 77 && fr.payload_len == FB_MAX_PAYLOAD);
    EXPECT(fr.header.timestamp_us == 0x1122334455667788ull && memcmp(fr.payload, payload, FB_MAX_PAYLOAD) == 0);
    EXPECT(fake_make_frame(0x10, 0, payload, FB_MAX_PAYLOAD + 1, wire) == 0);
    /* every single-bit error in a small frame is rejected */
    n = fake_make_frame(0x21, 5, payload, 32, wire);
    for (i = 0; i + 1 < n; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(copy, wire, n);
            copy[i] ^= (uint8_t)(1u << bit);
            if (fb_frame_decode(copy, n - 1, &fr) == FB_OK) accepted++;
        }
    }
    EXPECT(accepted == 0);
    /* within the COBS size limit but decoding to more than FB_MAX_BODY (merged frames) */
    {
        static uint8_t body[1044], enc[FB_MAX_WIRE];
        size_t m;
        for (i = 0; i < sizeof body; i++) body[i] = (uint8_t)(i % 100 ? i % 100 + 1 : 0);
        m = fb_cobs_encode(body, sizeof body, enc, sizeof enc);
        EXPECT(m > 0 && m <= FB_MAX_ENCODED);
        EXPECT(fb_frame_decode(enc, m, &fr) == FB_ERR_OVERSIZE);
    }
    /* wrong version: CRC-valid but rejected */
    {
        fb_header_t h = {2, 0x10, 0, 0};
        n = fb_frame_encode(&h, payload, 4, wire, sizeof wire);
        EXPECT(fb_frame_decode(wire, n - 1, &fr) == FB_ERR_VERSION);
    }
}

static void test_rx_stream(void)
{
    static fb_rx_t rx;
    static uint8_t stream[8192], payload[64];
    fb_frame_t fr;
    size_t pos = 0, n, i, got = 0;
    uint16_t seqs[8];
    const uint8_t garbage[] = {0x13, 0x37, 0x00, 0x00, 0xFF, 0x01, 0x02, 0x00};
    fb_rx_init(&rx);
    memset(payload, 0xAB, sizeof payload);
    memcpy(stream + pos, garbage, sizeof garbage);
    pos += sizeof garbage;
    pos += fake_make_frame(0x10, 1, payload, 20, stream + pos);
    n = fake_make_frame(0x10, 2, payload, 20, stream + pos); /* truncated: drop the tail and delimiter */
    pos += n / 2;
    pos += fake_make_frame(0x10, 3, payload, 20, stream + pos); /* joins the truncated one: bad */
    pos += fake_make_frame(0x10, 4, payload, 20, stream + pos);
    n = fake_make_frame(0x10, 5, payload, 20, stream + pos); /* bit flip */
    stream[pos + 7] ^= 0x10;
    pos += n;
    memset(stream + pos, 0x55, 1500); /* oversize run */
    pos += 1500;
    stream[pos++] = 0;
    pos += fake_make_frame(0x10, 6, payload, 20, stream + pos);
    for (i = 0; i < pos; i++) {
        if (fb_rx_push(&rx, stream[i], &fr)) seqs[got++] = fr.header.seq;
    }
    EXPECT(got == 3);
    EXPECT(got == 3 && seqs[0] == 1 && seqs[1] == 4 && seqs[2] == 6);
    EXPECT(rx.stats.oversize == 1);
    EXPECT(rx.stats.crc_errors + rx.stats.framing_errors + rx.stats.runts >= 3);
}

static void test_vectors_file(const char *path)
{
    static uint8_t line[8192], wire[FB_MAX_WIRE], mine[FB_MAX_WIRE];
    FILE *f = fopen(path, "r");
    size_t seen = 0;
    if (!f) {
        fprintf(stderr, "cannot open vectors file %s\n", path);
        g_failures++;
        return;
    }
    while (fgets((char *)line, sizeof line, f)) {
        char name[64];
        char *hex = strchr((char *)line, ' ');
        size_t n = 0, m, i;
        fb_rx_t rx;
        fb_frame_t fr;
        int frames = 0;
        if (!hex) continue;
        *hex++ = '\0';
        strncpy(name, (char *)line, sizeof name - 1);
        name[sizeof name - 1] = '\0';
        while (hex[2 * n] && hex[2 * n] != '\n' && n < sizeof wire) {
            unsigned v;
            sscanf(hex + 2 * n, "%2x", &v);
            wire[n++] = (uint8_t)v;
        }
        m = fbv_encode(name, mine, sizeof mine);
        if (m != n || memcmp(mine, wire, n) != 0) {
            fprintf(stderr, "vector %s: C encoding differs from the shared vector\n", name);
            g_failures++;
        }
        fb_rx_init(&rx);
        for (i = 0; i < n; i++) {
            if (fb_rx_push(&rx, wire[i], &fr)) {
                frames++;
                if (fbv_check(name, &fr) != 0) g_failures++;
            }
        }
        g_checks++;
        if (frames != 1) {
            fprintf(stderr, "vector %s: decoded %d frames\n", name, frames);
            g_failures++;
        }
        seen++;
    }
    fclose(f);
    EXPECT(seen == fbv_count);
}
static void test_timesync(void)
{
    fb_time_sync_request_t rq = {7, 99};
    fb_time_sync_response_t rs;
    fb_timesync_respond(&rq, 1000, 1010, &rs);
    EXPECT(rs.request_id == 7 && rs.t1 == 99 && rs.t2_us == 1000 && rs.t3_us == 1010);
}

int main(int argc, char **argv)
{
    const char *vectors = argc > 1 ? argv[1] : "../vectors/frames.txt";
    test_crc();
    test_cobs();
    test_frame();
    test_rx_stream();
    test_vectors_file(vectors);
    test_timesync();
    test_device_core();
    test_device_config();
    test_icm42688();
    test_mlx90640();
    test_mlx90640_reader();
    test_sim();
    printf("fb_unit_tests: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}

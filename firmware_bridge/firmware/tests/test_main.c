/* Host unit tests of the portable core, the board's sensor logic and the shared vectors.
 * usage: fb_unit_tests [path/to/vectors/frames.txt] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb/fb_cobs.h"
#include "fb/fb_crc32c.h"
#include "fb/fb_device.h"
#include "fb/fb_frame.h"
#include "fb/fb_timesync.h"
#include "icm42688.h"
#include "mlx90640_ctl.h"
#include "sim_signals.h"
#include "test_vectors_common.h"

static int g_failures = 0, g_checks = 0;
#define EXPECT(cond)                                                                  \
    do {                                                                              \
        g_checks++;                                                                   \
        if (!(cond)) {                                                                \
            g_failures++;                                                             \
            fprintf(stderr, "%s:%d: %s: expected %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                             \
    } while (0)

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

static size_t make_frame(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *out)
{
    fb_header_t h = {FB_PROTOCOL_VERSION, 0, 0, 0};
    h.type = type;
    h.seq = seq;
    h.timestamp_us = 0x1122334455667788ull;
    return fb_frame_encode(&h, payload, len, out, FB_MAX_WIRE);
}

static void test_frame(void)
{
    static uint8_t payload[FB_MAX_PAYLOAD], wire[FB_MAX_WIRE], copy[FB_MAX_WIRE];
    fb_frame_t fr;
    size_t n, i, bit, accepted = 0;
    for (i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7);
    n = make_frame(0x10, 77, payload, FB_MAX_PAYLOAD, wire);
    EXPECT(n > 0 && n <= FB_MAX_WIRE && wire[n - 1] == 0);
    memcpy(copy, wire, n);
    EXPECT(fb_frame_decode(copy, n - 1, &fr) == FB_OK);
    EXPECT(fr.header.type == 0x10 && fr.header.seq == 77 && fr.payload_len == FB_MAX_PAYLOAD);
    EXPECT(fr.header.timestamp_us == 0x1122334455667788ull && memcmp(fr.payload, payload, FB_MAX_PAYLOAD) == 0);
    EXPECT(make_frame(0x10, 0, payload, FB_MAX_PAYLOAD + 1, wire) == 0);
    /* every single-bit error in a small frame is rejected */
    n = make_frame(0x21, 5, payload, 32, wire);
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
    pos += make_frame(0x10, 1, payload, 20, stream + pos);
    n = make_frame(0x10, 2, payload, 20, stream + pos); /* truncated: drop the tail and delimiter */
    pos += n / 2;
    pos += make_frame(0x10, 3, payload, 20, stream + pos); /* joins the truncated one: bad */
    pos += make_frame(0x10, 4, payload, 20, stream + pos);
    n = make_frame(0x10, 5, payload, 20, stream + pos); /* bit flip */
    stream[pos + 7] ^= 0x10;
    pos += n;
    memset(stream + pos, 0x55, 1500); /* oversize run */
    pos += 1500;
    stream[pos++] = 0;
    pos += make_frame(0x10, 6, payload, 20, stream + pos);
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

/* ---- device core against a fake HAL ------------------------------------------------------------ */
typedef struct {
    uint64_t now;
    uint8_t rx[4096];
    size_t rx_len, rx_pos;
    uint8_t tx[65536];
    size_t tx_len, tx_cap;
    uint64_t next_sample_us;
    uint32_t pending_drop;
} fake_t;

static uint64_t f_now(void *c) { return ((fake_t *)c)->now; }
static size_t f_read(void *c, uint8_t *b, size_t max)
{
    fake_t *f = c;
    size_t n = f->rx_len - f->rx_pos;
    if (n > max) n = max;
    memcpy(b, f->rx + f->rx_pos, n);
    f->rx_pos += n;
    return n;
}
static size_t f_tx_free(void *c) { fake_t *f = c; return f->tx_cap - f->tx_len; }
static size_t f_write(void *c, const uint8_t *b, size_t n)
{
    fake_t *f = c;
    memcpy(f->tx + f->tx_len, b, n);
    f->tx_len += n;
    return n;
}
static int f_imu_cfg(void *c, fb_imu_config_t *cfg)
{
    (void)c;
    return icm42688_resolve_config(cfg, NULL, NULL);
}
static size_t f_imu_read(void *c, fb_imu_reading_t *out, size_t max, uint32_t *dropped, uint32_t *overruns)
{
    fake_t *f = c;
    size_t n = 0;
    *dropped += f->pending_drop;
    if (f->pending_drop) *overruns += 1;
    f->pending_drop = 0;
    while (n < max && f->next_sample_us <= f->now) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].t_us = f->next_sample_us;
        out[n].v[2] = 2048;
        f->next_sample_us += 1000;
        n++;
    }
    return n;
}

typedef struct {
    fb_frame_t frames[256];
    uint8_t store[256][FB_MAX_ENCODED];
    size_t count;
} captured_t;

static void capture(fake_t *f, captured_t *cap)
{
    static fb_rx_t rx;
    size_t i;
    fb_rx_init(&rx);
    cap->count = 0;
    for (i = 0; i < f->tx_len && cap->count < 256; i++) {
        fb_frame_t fr;
        if (fb_rx_push(&rx, f->tx[i], &fr)) {
            memcpy(cap->store[cap->count], fr.payload, fr.payload_len);
            fr.payload = cap->store[cap->count];
            cap->frames[cap->count++] = fr;
        }
    }
    f->tx_len = 0;
}

static void host_send(fake_t *f, uint8_t type, const uint8_t *payload, size_t len)
{
    f->rx_len += make_frame(type, 0, payload, len, f->rx + f->rx_len);
}

static void test_device_core(void)
{
    static fake_t f;
    static fb_device_t dev;
    static captured_t cap;
    fb_hal_t hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    uint8_t p[64];
    size_t i, n, imu_frames = 0;
    uint16_t last_seq = 0;

    memset(&f, 0, sizeof f);
    f.tx_cap = sizeof f.tx;
    f.now = 1000000;
    f.next_sample_us = 1000000;
    memset(&hal, 0, sizeof hal);
    hal.ctx = &f;
    hal.now_us = f_now;
    hal.serial_read = f_read;
    hal.serial_tx_free = f_tx_free;
    hal.serial_write = f_write;
    hal.imu_configure = f_imu_cfg;
    hal.imu_read = f_imu_read;
    memset(&info, 0, sizeof info);
    info.sensors = FB_STREAM_IMU | FB_STREAM_THERMAL; /* no thermal HAL: the core must clear it */
    fb_device_default_config(&cfg, info.sensors);
    fb_device_init(&dev, &hal, &info, &cfg, NULL);
    EXPECT(f.tx_len == 1 && f.tx[0] == 0); /* boot delimiter */
    EXPECT(dev.info.sensors == FB_STREAM_IMU);
    EXPECT(fabsf(dev.info.accel_scale - 16.0f * 9.80665f / 32768.0f) < 1e-9f);

    fb_device_poll(&dev); /* sends DEVICE_INFO and the first IMU sample stays pending */
    capture(&f, &cap);
    EXPECT(cap.count >= 1 && cap.frames[0].header.type == FB_MSG_DEVICE_INFO);

    /* 25 ms of IMU at 1 kHz with batch 10 -> two full batches */
    f.now += 25000;
    fb_device_poll(&dev);
    capture(&f, &cap);
    for (i = 0; i < cap.count; i++) {
        if (cap.frames[i].header.type == FB_MSG_IMU_BATCH) {
            fb_imu_batch_t b;
            EXPECT(fb_decode_imu_batch(cap.frames[i].payload, cap.frames[i].payload_len, &b) == FB_OK);
            EXPECT(b.count == 10 && b.first_index == 10 * imu_frames && b.samples[9].dt_us == 9000);
            imu_frames++;
        }
        last_seq = cap.frames[i].header.seq;
    }
    EXPECT(imu_frames == 2);

    /* time sync: t2 is the receive time, t3 the reply time (both from the HAL clock) */
    {
        fb_time_sync_request_t rq = {42, 987654321ull};
        fb_time_sync_response_t rs;
        n = fb_encode_time_sync_request(&rq, p, sizeof p);
        host_send(&f, FB_MSG_TIME_SYNC_REQUEST, p, n);
        f.now += 100;
        fb_device_poll(&dev);
        capture(&f, &cap);
        for (i = 0; i < cap.count; i++) {
            if (cap.frames[i].header.type == FB_MSG_TIME_SYNC_RESPONSE) break;
        }
        EXPECT(i < cap.count);
        if (i < cap.count) {
            EXPECT(fb_decode_time_sync_response(cap.frames[i].payload, cap.frames[i].payload_len, &rs) == FB_OK);
            EXPECT(rs.request_id == 42 && rs.t1 == 987654321ull && rs.t2_us == f.now && rs.t3_us == f.now);
            EXPECT(cap.frames[i].header.timestamp_us == rs.t3_us);
            EXPECT(cap.frames[i].header.seq == (uint16_t)(last_seq + 1));
        }
    }

    /* config: IMU at 300 Hz is snapped to 200 Hz -> ADJUSTED; batch 20; DEVICE_INFO follows */
    {
        fb_config_set_t cs;
        fb_config_ack_t ack;
        int saw_info = 0;
        memset(&cs, 0, sizeof cs);
        cs.config_id = 5;
        cs.fields = FB_CFG_IMU_RATE | FB_CFG_IMU_BATCH | FB_CFG_ACCEL_RANGE;
        cs.imu_rate_hz = 300.0f;
        cs.imu_batch = 20;
        cs.accel_range_g = 4;
        n = fb_encode_config_set(&cs, p, sizeof p);
        host_send(&f, FB_MSG_CONFIG_SET, p, n);
        host_send(&f, 0x7E, p, 3); /* an unknown type: skipped and counted */
        fb_device_poll(&dev);
        capture(&f, &cap);
        memset(&ack, 0, sizeof ack);
        for (i = 0; i < cap.count; i++) {
            if (cap.frames[i].header.type == FB_MSG_CONFIG_ACK) {
                EXPECT(fb_decode_config_ack(cap.frames[i].payload, cap.frames[i].payload_len, &ack) == FB_OK);
            }
            if (cap.frames[i].header.type == FB_MSG_DEVICE_INFO) {
                fb_device_info_t di;
                fb_decode_device_info(cap.frames[i].payload, cap.frames[i].payload_len, &di);
                saw_info = di.accel_range_g == 4 && di.imu_rate_hz == 200.0f;
            }
        }
        EXPECT(ack.config_id == 5 && ack.status == FB_CONFIG_ADJUSTED);
        EXPECT(ack.imu_rate_hz == 200.0f && ack.imu_batch == 20 && ack.accel_range_g == 4);
        EXPECT(saw_info);
        EXPECT(dev.counters.rx_unknown == 1);
    }

    /* TX full: frames are dropped (never blocked on), counted, and still consume a sequence number */
    {
        uint16_t seq_before = dev.seq;
        f.tx_cap = f.tx_len; /* no space */
        f.now += 100000;
        fb_device_poll(&dev);
        EXPECT(dev.counters.tx_overruns > 0);
        EXPECT(dev.seq != seq_before);
        f.tx_cap = sizeof f.tx;
    }

    /* FIFO loss: the next batch's first index jumps by the samples lost */
    {
        uint32_t idx_before;
        f.tx_len = 0;
        f.now += 50000;
        fb_device_poll(&dev); /* drain */
        capture(&f, &cap);
        idx_before = dev.imu_index + dev.nreadings;
        f.pending_drop = 7;
        f.now += 1000;
        fb_device_poll(&dev);
        EXPECT(dev.imu_index + dev.nreadings == idx_before + 7 + 1);
        EXPECT(dev.counters.imu_fifo_overruns == 1);
    }
}

static void test_timesync(void)
{
    fb_time_sync_request_t rq = {7, 99};
    fb_time_sync_response_t rs;
    fb_timesync_respond(&rq, 1000, 1010, &rs);
    EXPECT(rs.request_id == 7 && rs.t1 == 99 && rs.t2_us == 1000 && rs.t3_us == 1010);
}

/* ---- board sensor logic with a stubbed bus --------------------------------------------------------- */
typedef struct {
    uint8_t regs[256];
    uint8_t writes[32][2];
    size_t nwrites;
    uint32_t delayed_us;
} stub_bus_t;

static int stub_write(void *c, uint8_t reg, uint8_t v)
{
    stub_bus_t *b = c;
    if (b->nwrites < 32) {
        b->writes[b->nwrites][0] = reg;
        b->writes[b->nwrites][1] = v;
        b->nwrites++;
    }
    b->regs[reg] = v;
    return 0;
}
static int stub_read(void *c, uint8_t reg, uint8_t *buf, size_t n)
{
    stub_bus_t *b = c;
    memcpy(buf, b->regs + reg, n);
    return 0;
}
static void stub_delay(void *c, uint32_t us) { ((stub_bus_t *)c)->delayed_us += us; }

static void test_icm42688(void)
{
    static stub_bus_t sb;
    icm42688_bus_t bus = {&sb, stub_write, stub_read, stub_delay};
    fb_imu_config_t cfg = {1000.0f, 16, 2000, 0, 0};
    float hz;
    uint16_t r;
    int16_t s[6];
    const uint8_t raw[12] = {0x08, 0x00, 0xF8, 0x00, 0x00, 0x01, 0x7F, 0xFF, 0x80, 0x00, 0xFF, 0xFF};

    EXPECT(icm42688_odr_code(1000.0f, &hz) == 6 && hz == 1000.0f);
    EXPECT(icm42688_odr_code(500.0f, &hz) == 15 && hz == 500.0f);
    EXPECT(icm42688_odr_code(300.0f, &hz) == 7 && hz == 200.0f);
    EXPECT(icm42688_odr_code(9000.0f, &hz) == 3 && hz == 8000.0f);
    EXPECT(icm42688_accel_fs_code(16, &r) == 0 && r == 16);
    EXPECT(icm42688_accel_fs_code(3, &r) == 2 && r == 4);
    EXPECT(icm42688_accel_fs_code(2, &r) == 3 && r == 2);
    EXPECT(icm42688_gyro_fs_code(2000, &r) == 0 && r == 2000);
    EXPECT(icm42688_gyro_fs_code(250, &r) == 3 && r == 250);
    EXPECT(icm42688_gyro_fs_code(100, &r) == 4 && r == 125);
    /* +-16 g: 2048 LSB/g; +-2000 dps: 16.384 LSB/dps */
    EXPECT(fabsf(icm42688_accel_scale(16) * 2048.0f - 9.80665f) < 1e-5f);
    EXPECT(fabsf(icm42688_gyro_scale(2000) * 16.384f - 0.0174532925f) < 1e-7f);
    icm42688_parse_sample(raw, s);
    EXPECT(s[0] == 2048 && s[1] == -2048 && s[2] == 1 && s[3] == 32767 && s[4] == -32768 && s[5] == -1);

    memset(&sb, 0, sizeof sb);
    EXPECT(icm42688_init(&bus) == -2); /* WHO_AM_I reads 0 */
    sb.regs[ICM42688_REG_WHO_AM_I] = ICM42688_WHO_AM_I_VALUE;
    sb.nwrites = 0;
    EXPECT(icm42688_init(&bus) == 0);
    EXPECT(sb.regs[ICM42688_REG_PWR_MGMT0] == 0x0F && sb.regs[ICM42688_REG_INT_SOURCE0] == 0x08);
    EXPECT(sb.delayed_us >= 1000);
    EXPECT(icm42688_configure(&bus, &cfg) == 0);
    EXPECT(sb.regs[ICM42688_REG_GYRO_CONFIG0] == 0x06 && sb.regs[ICM42688_REG_ACCEL_CONFIG0] == 0x06);
    cfg.imu_rate_hz = 100.0f;
    cfg.accel_range_g = 8;
    cfg.gyro_range_dps = 500;
    EXPECT(icm42688_configure(&bus, &cfg) == 0);
    EXPECT(sb.regs[ICM42688_REG_GYRO_CONFIG0] == ((2 << 5) | 8) && sb.regs[ICM42688_REG_ACCEL_CONFIG0] == ((1 << 5) | 8));
    memcpy(sb.regs + ICM42688_REG_ACCEL_DATA_X1, raw, sizeof raw);
    EXPECT(icm42688_read_sample(&bus, s) == 0 && s[0] == 2048 && s[5] == -1);
}

static void test_mlx90640(void)
{
    float hz;
    EXPECT(mlx90640_refresh_code(8.0f, &hz) == 5 && hz == 8.0f); /* 16 Hz subpages */
    EXPECT(mlx90640_refresh_code(0.25f, &hz) == 0 && hz == 0.25f);
    EXPECT(mlx90640_refresh_code(100.0f, &hz) == 7 && hz == 32.0f);
    EXPECT(mlx90640_refresh_code(3.0f, &hz) == 4 && hz == 4.0f); /* 6 Hz subpages: 8 is nearer than 4 */
    EXPECT(mlx90640_ctrl_with_refresh(0x1901, 5) == ((0x1901 & ~(7u << 7)) | (5u << 7)));
    EXPECT(mlx90640_status_new_data(0x0009) == 1 && mlx90640_status_subpage(0x0009) == 1);
    EXPECT(mlx90640_celsius_to_raw(0.0f) == 27315 && mlx90640_celsius_to_raw(-300.0f) == 0);
    EXPECT(mlx90640_celsius_to_raw(1000.0f) == 65535);
}

static void test_sim_signals(void)
{
    /* Values the Python tests recompute (tests/firmware_bridge/test_bridge_pty.py). */
    EXPECT(sim_thermal_pixel(1, 0, 0, 32, 24) == 29500);
    EXPECT(sim_thermal_pixel(1, 3, 12, 32, 24) == 29500 + 500 + 1500);
    EXPECT(sim_thermal_pixel(2, 0, 23, 32, 24) == 29500 + 958);
}

int main(int argc, char **argv)
{
    const char *vectors = argc > 1 ? argv[1] : "../vectors/frames.txt";
    test_crc();
    test_cobs();
    test_frame();
    test_rx_stream();
    test_vectors_file(vectors);
    test_device_core();
    test_timesync();
    test_icm42688();
    test_mlx90640();
    test_sim_signals();
    printf("fb_unit_tests: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}

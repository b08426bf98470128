/* The device core behind the simulator HAL with the reference board's USB CDC path: FIFOs of the
 * sizes in the board's tusb_config.h, drained the way TinyUSB does it (one endpoint-sized packet
 * in flight, the next one queued by the following main-loop pass), on a simulated clock. It shows
 * on the host what the RP2040 firmware's transmit path can carry, independent of machine speed.
 *
 * usage: fb_board_link [options] < host_script > device_bytes
 *   host_script: lines "<ms> <hex>": bytes the host writes at that simulated time
 *   stdout: every byte the device sent; stderr: one summary line (JSON)
 * options: --seconds S (3)  --thermal none|mlx90640|lepton (lepton)  --thermal-rate HZ (8.7)
 *          --imu-rate HZ (1000)  --imu-batch N (10)  --log-bytes N (1020: a largest LOG at 1 ms)
 *          --tx-buffer BYTES (CFG_TUD_CDC_TX_BUFSIZE)  --loop-us US (100: one main-loop pass)
 *          --packets-per-ms N (8: 64-byte bulk packets the host takes per USB frame) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb/fb_device.h"
#include "sim_hal.h"
#include "tusb_config.h"

#define MAX_TX 65536u
#define MAX_SCRIPT (4u << 20)

typedef struct {
    uint8_t tx[MAX_TX];
    size_t tx_cap, tx_head, tx_len, tx_max_fill;
    uint8_t rx[CFG_TUD_CDC_RX_BUFSIZE];
    size_t rx_head, rx_len;
    long credit_in, credit_out; /* packet budget, in 1/1000 packet */
} usb_t;

static usb_t usb;

static size_t u_read(void *ctx, uint8_t *buf, size_t max)
{
    size_t n = 0;
    (void)ctx;
    while (n < max && usb.rx_len > 0) {
        buf[n++] = usb.rx[usb.rx_head];
        usb.rx_head = (usb.rx_head + 1) % sizeof usb.rx;
        usb.rx_len--;
    }
    return n;
}

static size_t u_tx_free(void *ctx)
{
    (void)ctx;
    return usb.tx_cap - usb.tx_len;
}

static size_t u_write(void *ctx, const uint8_t *buf, size_t len)
{
    size_t i;
    (void)ctx;
    if (len > usb.tx_cap - usb.tx_len) {
        fprintf(stderr, "fb_board_link: the core wrote more than tx_free allowed\n");
        exit(3);
    }
    for (i = 0; i < len; i++) usb.tx[(usb.tx_head + usb.tx_len + i) % usb.tx_cap] = buf[i];
    usb.tx_len += len;
    if (usb.tx_len > usb.tx_max_fill) usb.tx_max_fill = usb.tx_len;
    return len;
}

/* One IN packet per main-loop pass (TinyUSB queues the next on the transfer-complete event). */
static void usb_in(long credit_per_pass)
{
    size_t n;
    usb.credit_in += credit_per_pass;
    if (usb.tx_len == 0) {
        if (usb.credit_in > 1000) usb.credit_in = 1000; /* an idle bus saves up no bandwidth */
        return;
    }
    if (usb.credit_in < 1000) return;
    usb.credit_in -= 1000;
    n = usb.tx_len < CFG_TUD_CDC_EP_BUFSIZE ? usb.tx_len : CFG_TUD_CDC_EP_BUFSIZE;
    while (n-- > 0) {
        fputc(usb.tx[usb.tx_head], stdout);
        usb.tx_head = (usb.tx_head + 1) % usb.tx_cap;
        usb.tx_len--;
    }
}

/* OUT packets: only when the receive FIFO has room for a whole one (otherwise TinyUSB NAKs). */
static void usb_out(const uint8_t *src, size_t *pos, size_t end, long credit_per_pass)
{
    usb.credit_out += credit_per_pass;
    if (*pos >= end && usb.credit_out > 1000) usb.credit_out = 1000;
    if (*pos >= end || usb.credit_out < 1000 || sizeof usb.rx - usb.rx_len < CFG_TUD_CDC_EP_BUFSIZE) return;
    usb.credit_out -= 1000;
    while (*pos < end && usb.rx_len < sizeof usb.rx) {
        usb.rx[(usb.rx_head + usb.rx_len) % sizeof usb.rx] = src[(*pos)++];
        usb.rx_len++;
        if (usb.rx_len % CFG_TUD_CDC_EP_BUFSIZE == 0) break; /* one packet */
    }
}

typedef struct {
    double seconds, thermal_rate, imu_rate, loop_us, packets_per_ms;
    long imu_batch, log_bytes, tx_buffer;
    int thermal_kind;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    int i;
    o->seconds = 3.0;
    o->thermal_kind = SIM_THERMAL_LEPTON;
    o->thermal_rate = 8.7;
    o->imu_rate = 1000.0;
    o->imu_batch = 10;
    o->log_bytes = (long)FB_LOG_MAX_TEXT;
    o->tx_buffer = CFG_TUD_CDC_TX_BUFSIZE;
    o->loop_us = 100.0;
    o->packets_per_ms = 8.0;
    for (i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--seconds")) o->seconds = atof(v);
        else if (!strcmp(k, "--thermal-rate")) o->thermal_rate = atof(v);
        else if (!strcmp(k, "--imu-rate")) o->imu_rate = atof(v);
        else if (!strcmp(k, "--imu-batch")) o->imu_batch = atol(v);
        else if (!strcmp(k, "--log-bytes")) o->log_bytes = atol(v);
        else if (!strcmp(k, "--tx-buffer")) o->tx_buffer = atol(v);
        else if (!strcmp(k, "--loop-us")) o->loop_us = atof(v);
        else if (!strcmp(k, "--packets-per-ms")) o->packets_per_ms = atof(v);
        else if (!strcmp(k, "--thermal")) {
            o->thermal_kind = !strcmp(v, "lepton") ? SIM_THERMAL_LEPTON
                              : !strcmp(v, "mlx90640") ? SIM_THERMAL_MLX90640
                              : !strcmp(v, "none") ? SIM_THERMAL_NONE : -1;
        } else {
            fprintf(stderr, "fb_board_link: unknown option %s (see the comment at the top of board_link.c)\n", k);
            return -1;
        }
    }
    if (i != argc || !(o->seconds > 0.0 && o->seconds <= 600.0) || o->thermal_kind < 0 ||
        o->tx_buffer < 1 || o->tx_buffer > (long)MAX_TX || !(o->loop_us >= 1.0 && o->loop_us <= 100000.0) ||
        !(o->packets_per_ms > 0.0 && o->packets_per_ms <= 19.0) || o->log_bytes < 0 ||
        o->log_bytes > (long)FB_LOG_MAX_TEXT || o->imu_batch < 1 || o->imu_batch > (long)FB_IMU_MAX_SAMPLES) {
        fprintf(stderr, "fb_board_link: bad arguments: need --seconds 0..600, --thermal none|mlx90640|lepton, "
                        "--tx-buffer 1..%u, --loop-us 1..100000, --packets-per-ms 0..19 (USB full speed), "
                        "--log-bytes 0..%u, --imu-batch 1..%u\n", MAX_TX, FB_LOG_MAX_TEXT, FB_IMU_MAX_SAMPLES);
        return -1;
    }
    return 0;
}

/* Reads "<ms> <hex>" lines into bytes (in file order) with their due times. */
static size_t read_script(uint8_t *bytes, double *due_ms, size_t cap)
{
    static char line[1 << 16];
    size_t n = 0, lineno = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *p = line, *end;
        double ms;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(stdin)) {
            fprintf(stderr, "fb_board_link: script line %zu longer than %zu characters\n", lineno, sizeof line);
            exit(2);
        }
        ms = strtod(p, &end);
        if (end == p) {
            if (strspn(p, " \t\r\n") == strlen(p)) continue; /* blank */
            fprintf(stderr, "fb_board_link: script line %zu: expected '<ms> <hex>'\n", lineno);
            exit(2);
        }
        for (p = end; *p == ' ' || *p == '\t'; p++) {
        }
        while (p[0] && p[0] != '\n' && p[0] != '\r') {
            unsigned v;
            if (n >= cap || !isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
                sscanf(p, "%2x", &v) != 1) {
                fprintf(stderr, "fb_board_link: script line %zu: bad hex or script too large\n", lineno);
                exit(2);
            }
            bytes[n] = (uint8_t)v;
            due_ms[n++] = ms;
            p += 2;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    static sim_hal_t sim;
    static fb_device_t dev;
    static uint16_t thermal_buf[160 * 120];
    static uint8_t script[MAX_SCRIPT];
    static double due[MAX_SCRIPT];
    static char text[FB_LOG_MAX_TEXT + 1];
    opts_t o;
    sim_options_t so;
    fb_hal_t hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    size_t nscript, sent = 0, avail = 0;
    unsigned long long polls = 0;
    long credit;
    double t_us;
    int logged = 0;
    const uint64_t t0_ns = 1000000000ull;

    if (parse(argc, argv, &o) < 0) return 2;
    nscript = read_script(script, due, MAX_SCRIPT);
    memset(&so, 0, sizeof so);
    so.thermal_kind = o.thermal_kind;
    so.seed = 1;
    sim_hal_init(&sim, &so, -1);
    sim_hal_set_time_ns(&sim, t0_ns);
    sim_hal_bind(&sim, &hal);
    hal.serial_read = u_read;
    hal.serial_tx_free = u_tx_free;
    hal.serial_write = u_write;
    usb.tx_cap = (size_t)o.tx_buffer;

    memset(&info, 0, sizeof info);
    info.device_id = 0xB0A4D0000001ull;
    info.fw_major = 1;
    snprintf(info.board, sizeof info.board, "%s", "board-link");
    snprintf(info.imu_model, sizeof info.imu_model, "%s", "ICM-42688-P/sim");
    info.sensors = FB_STREAM_IMU;
    if (o.thermal_kind != SIM_THERMAL_NONE) {
        info.sensors |= FB_STREAM_THERMAL;
        snprintf(info.thermal_model, sizeof info.thermal_model, "%s",
                 o.thermal_kind == SIM_THERMAL_LEPTON ? "Lepton3.5/sim" : "MLX90640/sim");
        info.thermal_width = sim.th_w;
        info.thermal_height = sim.th_h;
        info.thermal_scale = 0.01f;
    }
    fb_device_default_config(&cfg, info.sensors);
    cfg.imu.imu_rate_hz = (float)o.imu_rate;
    cfg.imu_batch = (uint16_t)o.imu_batch;
    cfg.thermal_rate_hz = (float)o.thermal_rate;
    fb_device_init(&dev, &hal, &info, &cfg, o.thermal_kind != SIM_THERMAL_NONE ? thermal_buf : NULL);

    memset(text, 'x', (size_t)o.log_bytes);
    text[o.log_bytes] = '\0';
    credit = (long)(o.packets_per_ms * o.loop_us); /* 1/1000 packets per pass */
    for (t_us = 0.0; t_us < o.seconds * 1e6; t_us += o.loop_us) {
        sim_hal_set_time_ns(&sim, t0_ns + (uint64_t)(t_us * 1000.0));
        while (avail < nscript && due[avail] * 1000.0 <= t_us) avail++;
        usb_out(script, &sent, avail, credit);
        if (!logged && t_us >= 1000.0) { /* as main.c sends the board's note */
            fb_device_log(&dev, 1, 0x0001, text);
            logged = 1;
        }
        fb_device_poll(&dev);
        usb_in(credit);
        polls++;
    }
    while (usb.tx_len > 0) usb_in(credit); /* the host reads what was queued before the end */
    fflush(stdout);
    fprintf(stderr,
            "{\"sim_seconds\": %g, \"polls\": %llu, \"tx_buffer\": %zu, \"rx_buffer\": %u, \"ep_size\": %u, "
            "\"max_tx_fill\": %zu, \"host_bytes_delivered\": %zu, \"host_bytes\": %zu, \"tx_frames\": %u, "
            "\"tx_overruns\": %u, \"thermal_frames\": %u, \"thermal_dropped\": %u, \"imu_samples\": %u, "
            "\"imu_dropped\": %u}\n",
            o.seconds, polls, usb.tx_cap, (unsigned)CFG_TUD_CDC_RX_BUFSIZE, (unsigned)CFG_TUD_CDC_EP_BUFSIZE,
            usb.tx_max_fill, sent, nscript, dev.counters.tx_frames, dev.counters.tx_overruns,
            dev.counters.thermal_frames, dev.counters.thermal_dropped, dev.counters.imu_samples,
            dev.counters.imu_dropped_samples);
    return 0;
}

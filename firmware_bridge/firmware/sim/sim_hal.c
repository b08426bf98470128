#include "sim_hal.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../boards/rp2040_icm42688_mlx90640/icm42688.h"
#include "../boards/rp2040_icm42688_mlx90640/mlx90640_ctl.h"
#include "fb/fb_protocol.h"
#include "sim_signals.h"

uint64_t sim_host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sim_device_time_us(const sim_options_t *opt, uint64_t host_ns)
{
    double h_us = (double)(host_ns / 1000ull) + (double)(host_ns % 1000ull) / 1000.0;
    double d = (h_us + opt->offset_us) * (1.0 + opt->drift_ppm * 1e-6);
    return d <= 0.0 ? 0 : (uint64_t)floor(d);
}

static uint64_t sim_now(void *ctx)
{
    sim_hal_t *s = ctx;
    return sim_device_time_us(&s->opt, s->manual_clock ? s->manual_ns : sim_host_monotonic_ns());
}

void sim_hal_set_time_ns(sim_hal_t *s, uint64_t host_ns)
{
    s->manual_clock = 1;
    s->manual_ns = host_ns;
}

double sim_rand(sim_hal_t *s)
{
    uint64_t x = s->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static size_t sim_read(void *ctx, uint8_t *buf, size_t max)
{
    sim_hal_t *s = ctx;
    ssize_t n;
    if (s->fd < 0) return 0;
    n = read(s->fd, buf, max);
    return n > 0 ? (size_t)n : 0;
}

static size_t sim_tx_free(void *ctx)
{
    sim_hal_t *s = ctx;
    return s->fd < 0 ? 0 : SIM_TX_RING - s->tx_len;
}

static void ring_put(sim_hal_t *s, uint8_t b)
{
    if (s->tx_len < SIM_TX_RING) {
        s->tx[(s->tx_head + s->tx_len) % SIM_TX_RING] = b;
        s->tx_len++;
    }
}

static size_t sim_write(void *ctx, const uint8_t *buf, size_t len)
{
    sim_hal_t *s = ctx;
    size_t i;
    /* Every frame starts COBS code, version, type (both non-zero, so the code is >= 3). */
    if (len > 3 && buf[2] == FB_MSG_THERMAL_FRAGMENT && s->opt.fragment_drop_rate > 0.0 &&
        sim_rand(s) < s->opt.fragment_drop_rate) {
        s->injected_fragment_drops++;
        return len;
    }
    for (i = 0; i < len; i++) {
        uint8_t b = buf[i];
        if (s->opt.drop_rate > 0.0 && sim_rand(s) < s->opt.drop_rate) {
            s->injected_byte_drops++;
            continue;
        }
        if (s->opt.bitflip_rate > 0.0 && sim_rand(s) < s->opt.bitflip_rate) {
            b ^= (uint8_t)(1u << (unsigned)(sim_rand(s) * 8.0));
            s->injected_bitflips++;
        }
        ring_put(s, b);
    }
    return len;
}

void sim_hal_flush(sim_hal_t *s)
{
    while (s->fd >= 0 && s->tx_len > 0) {
        size_t chunk = SIM_TX_RING - s->tx_head;
        ssize_t n;
        if (chunk > s->tx_len) chunk = s->tx_len;
        n = write(s->fd, s->tx + s->tx_head, chunk);
        if (n <= 0) {
            return; /* EAGAIN: the reader is not keeping up (or absent); frames wait or drop */
        }
        s->tx_head = (s->tx_head + (size_t)n) % SIM_TX_RING;
        s->tx_len -= (size_t)n;
    }
}

static int sim_imu_configure(void *ctx, fb_imu_config_t *cfg)
{
    sim_hal_t *s = ctx;
    int adjusted = icm42688_resolve_config(cfg, NULL, NULL);
    s->imu = *cfg;
    s->imu_t0_us = sim_now(s);
    s->imu_k = 0;
    return adjusted;
}

static size_t sim_imu_read(void *ctx, fb_imu_reading_t *out, size_t max, uint32_t *dropped,
                           uint32_t *overruns)
{
    sim_hal_t *s = ctx;
    double period = 1e6 / (double)s->imu.imu_rate_hz;
    uint64_t now = sim_now(s);
    uint64_t due_k, backlog;
    size_t n = 0;
    if (now < s->imu_t0_us) return 0;
    due_k = (uint64_t)((double)(now - s->imu_t0_us) / period) + 1; /* samples 0..due_k-1 are due */
    backlog = due_k > s->imu_k ? due_k - s->imu_k : 0;
    if (backlog > SIM_IMU_FIFO) { /* FIFO overflow: the oldest samples are lost */
        *dropped += (uint32_t)(backlog - SIM_IMU_FIFO);
        *overruns += 1;
        s->imu_k += backlog - SIM_IMU_FIFO;
    }
    while (n < max && s->imu_k < due_k) {
        double si[6];
        uint64_t t = s->imu_t0_us + (uint64_t)llround((double)s->imu_k * period);
        size_t a;
        sim_imu_signal((double)t * 1e-6, si);
        for (a = 0; a < 6; a++) {
            double noise = (sim_rand(s) + sim_rand(s) - 1.0) * (a < 3 ? 0.02 : 0.002);
            double raw = (si[a] + noise) / (a < 3 ? s->imu.accel_scale : s->imu.gyro_scale);
            if (raw > 32767.0) raw = 32767.0;
            if (raw < -32768.0) raw = -32768.0;
            out[n].v[a] = (int16_t)lround(raw);
        }
        out[n].t_us = t;
        s->imu_k++;
        n++;
    }
    return n;
}

#define SIM_LEPTON_MIN_HZ 0.1f
#define SIM_LEPTON_MAX_HZ 8.7f

static int sim_thermal_configure(void *ctx, float *rate_hz)
{
    sim_hal_t *s = ctx;
    int adjusted = 0;
    if (s->opt.thermal_kind == SIM_THERMAL_MLX90640) {
        float actual;
        mlx90640_refresh_code(*rate_hz, &actual);
        adjusted = actual != *rate_hz;
        *rate_hz = actual;
    } else if (!(*rate_hz >= SIM_LEPTON_MIN_HZ)) { /* also NaN: the period must stay finite */
        *rate_hz = SIM_LEPTON_MIN_HZ;
        adjusted = 1;
    } else if (*rate_hz > SIM_LEPTON_MAX_HZ) { /* export-limited */
        *rate_hz = SIM_LEPTON_MAX_HZ;
        adjusted = 1;
    }
    s->th_rate_hz = *rate_hz;
    s->th_next_us = sim_now(s);
    return adjusted;
}

static int sim_thermal_read(void *ctx, uint16_t *pixels, uint64_t *capture_us)
{
    sim_hal_t *s = ctx;
    uint64_t now = sim_now(s);
    uint32_t x, y;
    if (s->th_rate_hz <= 0.0f || now < s->th_next_us) return 0;
    s->th_next_us += (uint64_t)(1e6 / s->th_rate_hz);
    if (s->th_next_us < now) s->th_next_us = now; /* we fell behind: skip, do not burst */
    s->th_frame++;
    for (y = 0; y < s->th_h; y++) {
        for (x = 0; x < s->th_w; x++) {
            pixels[y * s->th_w + x] = sim_thermal_pixel(s->th_frame, x, y, s->th_w, s->th_h);
        }
    }
    *capture_us = now;
    return 1;
}

void sim_hal_init(sim_hal_t *s, const sim_options_t *opt, int fd)
{
    memset(s, 0, sizeof *s);
    s->opt = *opt;
    s->fd = fd;
    s->rng = opt->seed ? opt->seed : 0x9E3779B97F4A7C15ull;
    if (opt->thermal_kind == SIM_THERMAL_MLX90640) {
        s->th_w = 32;
        s->th_h = 24;
    } else if (opt->thermal_kind == SIM_THERMAL_LEPTON) {
        s->th_w = 160;
        s->th_h = 120;
    }
}

void sim_hal_set_fd(sim_hal_t *s, int fd)
{
    s->fd = fd;
    s->tx_head = s->tx_len = 0;
}

void sim_hal_bind(sim_hal_t *s, fb_hal_t *hal)
{
    memset(hal, 0, sizeof *hal);
    hal->ctx = s;
    hal->now_us = sim_now;
    hal->serial_read = sim_read;
    hal->serial_tx_free = sim_tx_free;
    hal->serial_write = sim_write;
    hal->imu_configure = sim_imu_configure;
    hal->imu_read = sim_imu_read;
    if (s->opt.thermal_kind != SIM_THERMAL_NONE) {
        hal->thermal_configure = sim_thermal_configure;
        hal->thermal_read = sim_thermal_read;
    }
}

/* Simulated HAL for the virtual device: a drifting device clock derived from the host's
 * CLOCK_MONOTONIC, an ICM-42688-like IMU FIFO, a thermal camera, a non-blocking serial link over a
 * file descriptor with a transmit ring, and fault injection on the transmit path. */
#ifndef SIM_HAL_H
#define SIM_HAL_H
#include <stddef.h>
#include <stdint.h>

#include "fb/fb_hal.h"

#define SIM_TX_RING 65536u
#define SIM_IMU_FIFO 256u

enum sim_thermal_kind { SIM_THERMAL_NONE = 0, SIM_THERMAL_MLX90640 = 1, SIM_THERMAL_LEPTON = 2 };

typedef struct {
    double offset_us, drift_ppm;
    double bitflip_rate, drop_rate, fragment_drop_rate;
    uint64_t seed;
    int thermal_kind;
} sim_options_t;

typedef struct {
    sim_options_t opt;
    int fd; /* pty master, -1 while "unplugged" */
    uint8_t tx[SIM_TX_RING];
    size_t tx_head, tx_len;
    uint64_t rng;
    int manual_clock;   /* set by sim_hal_set_time_ns: the host clock is the caller's, not real */
    uint64_t manual_ns;
    /* IMU */
    fb_imu_config_t imu;
    uint64_t imu_t0_us, imu_k; /* sample k is due at imu_t0 + k * period */
    /* thermal */
    uint16_t th_w, th_h;
    float th_rate_hz;
    uint64_t th_next_us;
    uint32_t th_frame;
    /* fault counters */
    uint64_t injected_bitflips, injected_byte_drops, injected_fragment_drops;
} sim_hal_t;

/* Device clock: d_us = floor((host_monotonic_us + offset_us) * (1 + drift_ppm * 1e-6)). */
uint64_t sim_device_time_us(const sim_options_t *opt, uint64_t host_monotonic_ns);
uint64_t sim_host_monotonic_ns(void);

void sim_hal_init(sim_hal_t *s, const sim_options_t *opt, int fd);
void sim_hal_bind(sim_hal_t *s, fb_hal_t *hal); /* fills hal with the sim callbacks */
void sim_hal_set_fd(sim_hal_t *s, int fd);      /* -1 = unplugged; clears the transmit ring */
void sim_hal_flush(sim_hal_t *s);               /* write as much of the ring as the fd takes */
double sim_rand(sim_hal_t *s);                  /* uniform [0, 1) */
/* From now on the host clock reads host_ns (a stepped, simulated clock: runs are reproducible
 * and independent of the machine's speed). */
void sim_hal_set_time_ns(sim_hal_t *s, uint64_t host_ns);
#endif

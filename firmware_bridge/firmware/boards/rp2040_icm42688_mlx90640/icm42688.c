#include "icm42688.h"

#include <math.h>

static const struct { float hz; uint8_t code; } k_odr[] = {
    {8000.0f, 3}, {4000.0f, 4}, {2000.0f, 5}, {1000.0f, 6}, {500.0f, 15},
    {200.0f, 7}, {100.0f, 8}, {50.0f, 9}, {25.0f, 10}, {12.5f, 11},
};

uint8_t icm42688_odr_code(float rate_hz, float *actual_hz)
{
    size_t i, best = 0;
    float best_err = 1e30f;
    for (i = 0; i < sizeof k_odr / sizeof k_odr[0]; i++) {
        float err = fabsf(logf(k_odr[i].hz) - logf(rate_hz > 0.1f ? rate_hz : 0.1f));
        if (err < best_err) {
            best_err = err;
            best = i;
        }
    }
    if (actual_hz) *actual_hz = k_odr[best].hz;
    return k_odr[best].code;
}

uint8_t icm42688_accel_fs_code(uint16_t range_g, uint16_t *actual_g)
{
    static const uint16_t ranges[] = {2, 4, 8, 16}; /* FS_SEL 3, 2, 1, 0 */
    size_t i;
    for (i = 0; i < 3 && ranges[i] < range_g; i++) {
    }
    if (actual_g) *actual_g = ranges[i];
    return (uint8_t)(3 - i);
}

uint8_t icm42688_gyro_fs_code(uint16_t range_dps, uint16_t *actual_dps)
{
    static const uint16_t ranges[] = {125, 250, 500, 1000, 2000}; /* FS_SEL 4..0 */
    size_t i;
    for (i = 0; i < 4 && ranges[i] < range_dps; i++) {
    }
    if (actual_dps) *actual_dps = ranges[i];
    return (uint8_t)(4 - i);
}

float icm42688_accel_scale(uint16_t range_g) { return (float)range_g * FB_STANDARD_GRAVITY / 32768.0f; }

float icm42688_gyro_scale(uint16_t range_dps)
{
    return (float)range_dps * (3.14159265358979f / 180.0f) / 32768.0f;
}

void icm42688_parse_sample(const uint8_t raw[12], int16_t out[6])
{
    size_t i;
    for (i = 0; i < 6; i++) {
        out[i] = (int16_t)(uint16_t)(((uint16_t)raw[2 * i] << 8) | raw[2 * i + 1]);
    }
}

int icm42688_resolve_config(fb_imu_config_t *cfg, uint8_t *gyro_config0, uint8_t *accel_config0)
{
    float hz;
    uint16_t ag, gd;
    uint8_t odr = icm42688_odr_code(cfg->imu_rate_hz, &hz);
    uint8_t afs = icm42688_accel_fs_code(cfg->accel_range_g, &ag);
    uint8_t gfs = icm42688_gyro_fs_code(cfg->gyro_range_dps, &gd);
    int adjusted = hz != cfg->imu_rate_hz || ag != cfg->accel_range_g || gd != cfg->gyro_range_dps;
    cfg->imu_rate_hz = hz;
    cfg->accel_range_g = ag;
    cfg->gyro_range_dps = gd;
    cfg->accel_scale = icm42688_accel_scale(ag);
    cfg->gyro_scale = icm42688_gyro_scale(gd);
    if (gyro_config0) *gyro_config0 = (uint8_t)((gfs << 5) | odr);
    if (accel_config0) *accel_config0 = (uint8_t)((afs << 5) | odr);
    return adjusted;
}

static void bus_lock(const icm42688_bus_t *bus)
{
    if (bus->lock) bus->lock(bus->ctx);
}

static void bus_unlock(const icm42688_bus_t *bus)
{
    if (bus->unlock) bus->unlock(bus->ctx);
}

static int init_locked(const icm42688_bus_t *bus)
{
    uint8_t who = 0;
    if (bus->write_reg(bus->ctx, ICM42688_REG_BANK_SEL, 0) < 0) return -1;
    if (bus->write_reg(bus->ctx, ICM42688_REG_DEVICE_CONFIG, 0x01) < 0) return -1;
    bus->delay_us(bus->ctx, 1000); /* soft reset: 1 ms */
    if (bus->read_regs(bus->ctx, ICM42688_REG_WHO_AM_I, &who, 1) < 0) return -1;
    if (who != ICM42688_WHO_AM_I_VALUE) return -2;
    /* INT1: pulsed, push-pull, active high; data-ready routed to INT1. */
    if (bus->write_reg(bus->ctx, ICM42688_REG_INT_CONFIG, 0x03) < 0) return -1;
    if (bus->write_reg(bus->ctx, ICM42688_REG_INT_SOURCE0, 0x08) < 0) return -1;
    /* Gyro and accel in low-noise mode; no register writes for 200 us afterwards. */
    if (bus->write_reg(bus->ctx, ICM42688_REG_PWR_MGMT0, 0x0F) < 0) return -1;
    bus->delay_us(bus->ctx, 300);
    return 0;
}

int icm42688_init(const icm42688_bus_t *bus)
{
    int rc;
    bus_lock(bus);
    rc = init_locked(bus);
    bus_unlock(bus);
    return rc;
}

int icm42688_configure(const icm42688_bus_t *bus, fb_imu_config_t *cfg)
{
    uint8_t g0, a0;
    int adjusted = icm42688_resolve_config(cfg, &g0, &a0), rc = adjusted;
    bus_lock(bus);
    if (bus->write_reg(bus->ctx, ICM42688_REG_GYRO_CONFIG0, g0) < 0 ||
        bus->write_reg(bus->ctx, ICM42688_REG_ACCEL_CONFIG0, a0) < 0) {
        rc = -1;
    }
    bus_unlock(bus);
    return rc;
}

int icm42688_read_sample(const icm42688_bus_t *bus, int16_t out[6])
{
    uint8_t raw[12];
    if (bus->read_regs(bus->ctx, ICM42688_REG_ACCEL_DATA_X1, raw, sizeof raw) < 0) return -1;
    icm42688_parse_sample(raw, out);
    return 0;
}

/* TDK InvenSense ICM-42688-P: register map subset, configuration and sample conversion.
 * Bus access goes through icm42688_bus_t so this file compiles (and is unit-tested) on the host. */
#ifndef ICM42688_H
#define ICM42688_H
#include <stddef.h>
#include <stdint.h>

#include "fb/fb_hal.h"

#define ICM42688_REG_DEVICE_CONFIG 0x11u /* bit0 SOFT_RESET_CONFIG */
#define ICM42688_REG_INT_CONFIG 0x14u    /* INT1 mode/drive/polarity */
#define ICM42688_REG_ACCEL_DATA_X1 0x1Fu /* 12 bytes: accel X,Y,Z then gyro X,Y,Z, big-endian */
#define ICM42688_REG_INT_STATUS 0x2Du    /* bit3 DATA_RDY_INT */
#define ICM42688_REG_PWR_MGMT0 0x4Eu     /* gyro mode [3:2], accel mode [1:0] */
#define ICM42688_REG_GYRO_CONFIG0 0x4Fu  /* FS_SEL [7:5], ODR [3:0] */
#define ICM42688_REG_ACCEL_CONFIG0 0x50u /* FS_SEL [7:5], ODR [3:0] */
#define ICM42688_REG_INT_SOURCE0 0x65u   /* bit3 UI_DRDY_INT1_EN */
#define ICM42688_REG_WHO_AM_I 0x75u
#define ICM42688_REG_BANK_SEL 0x76u
#define ICM42688_WHO_AM_I_VALUE 0x47u
#define ICM42688_SPI_READ 0x80u /* set on the address byte for reads */

#define FB_STANDARD_GRAVITY 9.80665f

/* lock/unlock (optional) bracket every register sequence of icm42688_init/_configure: the board
 * masks its data-ready interrupt there, so the handler's sample reads (icm42688_read_sample, on
 * the same bus and chip select) can neither interleave with a configuration write nor read a
 * sample taken half-way through a range change. */
typedef struct {
    void *ctx;
    int (*write_reg)(void *ctx, uint8_t reg, uint8_t value);
    int (*read_regs)(void *ctx, uint8_t reg, uint8_t *buf, size_t n);
    void (*delay_us)(void *ctx, uint32_t us);
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
} icm42688_bus_t;

/* Nearest supported output data rate (12.5 Hz .. 8 kHz); returns the ODR field code. */
uint8_t icm42688_odr_code(float rate_hz, float *actual_hz);
/* Smallest supported full-scale range >= the request (+-2/4/8/16 g); returns FS_SEL. */
uint8_t icm42688_accel_fs_code(uint16_t range_g, uint16_t *actual_g);
/* Smallest supported range >= the request (+-125/250/500/1000/2000 dps); returns FS_SEL. */
uint8_t icm42688_gyro_fs_code(uint16_t range_dps, uint16_t *actual_dps);
float icm42688_accel_scale(uint16_t range_g);   /* m/s^2 per LSB */
float icm42688_gyro_scale(uint16_t range_dps);  /* rad/s per LSB */
/* Data registers (ACCEL_DATA_X1..GYRO_DATA_Z0, big-endian) -> ax ay az gx gy gz. */
void icm42688_parse_sample(const uint8_t raw[12], int16_t out[6]);
/* Snaps cfg to what the chip supports and fills the scales; returns 0 if nothing was adjusted,
 * 1 if something was. Pure: touches no bus. */
int icm42688_resolve_config(fb_imu_config_t *cfg, uint8_t *gyro_config0, uint8_t *accel_config0);

int icm42688_init(const icm42688_bus_t *bus);                       /* reset, WHO_AM_I, DRDY on INT1 */
int icm42688_configure(const icm42688_bus_t *bus, fb_imu_config_t *cfg); /* 0/1 as above, <0 bus error */
/* One sample from the data registers; called from the data-ready interrupt, so it takes no lock. */
int icm42688_read_sample(const icm42688_bus_t *bus, int16_t out[6]);
#endif

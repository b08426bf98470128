/* RP2040 reference board: the files a port replaces are board_hal.c and board_thermal.c (plus
 * this header), usb_descriptors.c and tusb_config.h. */
#ifndef BOARD_HAL_H
#define BOARD_HAL_H
#include <stdint.h>

#include "fb/fb_device.h"
#include "fb/fb_hal.h"

#define BOARD_NAME "rp2040-ref"
/* LOG code sent while the thermal sensor is present but its calibration is missing. */
#define BOARD_LOG_NO_THERMAL_CALIBRATION 0x0101u

/* Initialises buses and sensors, fills the HAL and the device description. */
void board_init(fb_hal_t *hal, fb_device_info_t *info);
/* Advances the non-blocking sensor work (the MLX90640 transfers); once per main-loop pass. */
void board_poll(void);
/* A warning for the host (e.g. "no thermal calibration"), or NULL; main.c sends it as a LOG. */
const char *board_note(void);

/* MLX90640 temperature calculation, supplied by the integrator (see README), for example on top
 * of Melexis' MLX90640 driver library; build it in with -DMLX90640_CALC=<file.c>. Without one the
 * build uses mlx90640_calc_stub.c, whose init returns BOARD_MLX90640_NO_CALIBRATION: the
 * thermal stream is then off and the board reports "no thermal calibration".
 * init: read the EEPROM (0x2400, 832 words; blocking I2C is fine, it runs before the main loop)
 * and extract the parameters; 0 on success, negative on a bus error.
 * calculate: frame_words = 832 RAM words + control register 1 + subpage number; updates
 * celsius[768] for the pixels of that subpage (emissivity and reflected temperature are the
 * integrator's). It runs in the main loop: keep it short, or move it to core 1. */
#define BOARD_MLX90640_NO_CALIBRATION 1
int board_mlx90640_init(void);
void board_mlx90640_calculate(const uint16_t frame_words[834], float celsius[768]);

/* board_thermal.c */
int board_thermal_init(fb_hal_t *hal, fb_device_info_t *info); /* 1 if the sensor answered */
void board_thermal_poll(void);
const char *board_thermal_note(void);
#endif

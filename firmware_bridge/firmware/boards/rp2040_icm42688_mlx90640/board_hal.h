/* RP2040 reference board: the one file a port replaces is board_hal.c (plus this header). */
#ifndef BOARD_HAL_H
#define BOARD_HAL_H
#include "fb/fb_device.h"
#include "fb/fb_hal.h"

/* Initialises buses and sensors, fills the HAL and the device description. */
void board_init(fb_hal_t *hal, fb_device_info_t *info);

/* Supplied by the integrator (see README): MLX90640 EEPROM calibration and the per-pixel
 * temperature calculation, e.g. built on Melexis' MLX90640 driver library.
 * init: read the EEPROM (0x2400, 832 words) and extract the parameters; 0 on success.
 * calculate: frame_words = 832 RAM words + control register + subpage; updates celsius[768]
 * for the pixels of that subpage (emissivity and reflected temperature are the integrator's). */
int board_mlx90640_init(void);
void board_mlx90640_calculate(const uint16_t frame_words[834], float celsius[768]);
#endif

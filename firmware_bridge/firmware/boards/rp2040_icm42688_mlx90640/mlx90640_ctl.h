/* Melexis MLX90640 control-register logic (refresh rate, status bits, pixel encoding).
 * Pure functions, unit-tested on the host. The per-pixel temperature calculation from the EEPROM
 * calibration is NOT implemented here; see README (board section). */
#ifndef MLX90640_CTL_H
#define MLX90640_CTL_H
#include <stdint.h>

#define MLX90640_I2C_ADDR 0x33u
#define MLX90640_REG_STATUS 0x8000u /* bit3 new data in RAM, bits[2:0] last measured subpage */
#define MLX90640_REG_CTRL1 0x800Du  /* bits[9:7] refresh rate */
#define MLX90640_RAM_START 0x0400u
#define MLX90640_EEPROM_START 0x2400u
#define MLX90640_WIDTH 32u
#define MLX90640_HEIGHT 24u

/* Subpage refresh rate 0.5 * 2^code Hz (code 0..7): nearest code for a full-frame rate (two
 * subpages per frame). *actual_frame_hz gets the frame rate that code gives. */
uint16_t mlx90640_refresh_code(float frame_rate_hz, float *actual_frame_hz);
uint16_t mlx90640_ctrl_with_refresh(uint16_t ctrl1, uint16_t code);
int mlx90640_status_new_data(uint16_t status);
int mlx90640_status_subpage(uint16_t status);
/* Degrees Celsius -> protocol pixel (centikelvin, kelvin = raw * 0.01), clamped to uint16. */
uint16_t mlx90640_celsius_to_raw(float celsius);
#endif

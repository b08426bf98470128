/* Stand-in for the MLX90640 temperature calculation, used when the build gets no
 * -DMLX90640_CALC=<file>. Converting raw readings to kelvin needs each sensor's EEPROM calibration
 * and Melexis' algorithm (MLX90640 datasheet, section 11), which this project does not ship. The
 * stub says so: board_thermal.c then leaves the thermal stream off, names the sensor
 * "MLX90640-nocal" in DEVICE_INFO and sends the LOG "no thermal calibration". */
#include "board_hal.h"

int board_mlx90640_init(void) { return BOARD_MLX90640_NO_CALIBRATION; }

void board_mlx90640_calculate(const uint16_t frame_words[834], float celsius[768])
{
    (void)frame_words; /* never called: init reported no calibration */
    (void)celsius;
}

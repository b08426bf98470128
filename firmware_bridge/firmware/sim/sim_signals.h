/* Deterministic synthetic sensor signals for the virtual device (shared by tests). */
#ifndef SIM_SIGNALS_H
#define SIM_SIGNALS_H
#include <stdint.h>

/* SI values at device time t_s (seconds): accel m/s^2 (gravity on +z), gyro rad/s. */
void sim_imu_signal(double t_s, double out[6]);
/* Thermal test pattern in centikelvin, a pure function of (frame id, x, y), so a receiver can check
 * every pixel: 295.00 K + 10 K vertical gradient + a 15 K hot disc moving with the frame id. */
uint16_t sim_thermal_pixel(uint32_t frame_id, uint32_t x, uint32_t y, uint32_t w, uint32_t h);
#endif

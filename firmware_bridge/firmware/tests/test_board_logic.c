/* The board's sensor logic on the host: ICM-42688 register sequences (with the bus lock the
 * data-ready interrupt needs), MLX90640 control bits, the non-blocking MLX90640 transfer against a
 * simulated I2C controller, and the simulator's signals and rate clamping. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "fb/fb_device.h"
#include "icm42688.h"
#include "mlx90640_ctl.h"
#include "mlx90640_xfer.h"
#include "sim_hal.h"
#include "sim_signals.h"

typedef struct {
    uint8_t regs[256];
    uint8_t writes[32][2];
    size_t nwrites;
    uint32_t delayed_us;
    int lock_depth, unlocked_access, fail_writes;
} stub_bus_t;

static int stub_write(void *c, uint8_t reg, uint8_t v)
{
    stub_bus_t *b = c;
    if (b->lock_depth != 1) b->unlocked_access++;
    if (b->fail_writes) return -1;
    if (b->nwrites < 32) {
        b->writes[b->nwrites][0] = reg;
        b->writes[b->nwrites][1] = v;
        b->nwrites++;
    }
    b->regs[reg] = v;
    return 0;
}
static int stub_read(void *c, uint8_t reg, uint8_t *buf, size_t n)
{
    stub_bus_t *b = c;
    if (b->lock_depth != 1) b->unlocked_access++;
    memcpy(buf, b->regs + reg, n);
    return 0;
}
static void stub_delay(void *c, uint32_t us) { ((stub_bus_t *)c)->delayed_us += us; }
static void stub_lock(void *c) { ((stub_bus_t *)c)->lock_depth++; }
static void stub_unlock(void *c) { ((stub_bus_t *)c)->lock_depth--; }

void test_icm42688(void)
{
    static stub_bus_t sb;
    icm42688_bus_t bus = {&sb, stub_write, stub_read, stub_delay, stub_lock, stub_unlock};
    fb_imu_config_t cfg = {1000.0f, 16, 2000, 0, 0};
    float hz;
    uint16_t r;
    int16_t s[6];
    const uint8_t raw[12] = {0x08, 0x00, 0xF8, 0x00, 0x00, 0x01, 0x7F, 0xFF, 0x80, 0x00, 0xFF, 0xFF};

    EXPECT(icm42688_odr_code(1000.0f, &hz) == 6 && hz == 1000.0f);
    EXPECT(icm42688_odr_code(500.0f, &hz) == 15 && hz == 500.0f);
    EXPECT(icm42688_odr_code(300.0f, &hz) == 7 && hz == 200.0f);
    EXPECT(icm42688_odr_code(9000.0f, &hz) == 3 && hz == 8000.0f);
    EXPECT(icm42688_accel_fs_code(16, &r) == 0 && r == 16);
    EXPECT(icm42688_accel_fs_code(3, &r) == 2 && r == 4);
    EXPECT(icm42688_accel_fs_code(2, &r) == 3 && r == 2);
    EXPECT(icm42688_gyro_fs_code(2000, &r) == 0 && r == 2000);
    EXPECT(icm42688_gyro_fs_code(250, &r) == 3 && r == 250);
    EXPECT(icm42688_gyro_fs_code(100, &r) == 4 && r == 125);
    /* +-16 g: 2048 LSB/g; +-2000 dps: 16.384 LSB/dps */
    EXPECT(fabsf(icm42688_accel_scale(16) * 2048.0f - 9.80665f) < 1e-5f);
    EXPECT(fabsf(icm42688_gyro_scale(2000) * 16.384f - 0.0174532925f) < 1e-7f);
    icm42688_parse_sample(raw, s);
    EXPECT(s[0] == 2048 && s[1] == -2048 && s[2] == 1 && s[3] == 32767 && s[4] == -32768 && s[5] == -1);

    memset(&sb, 0, sizeof sb);
    EXPECT(icm42688_init(&bus) == -2); /* WHO_AM_I reads 0 */
    sb.regs[ICM42688_REG_WHO_AM_I] = ICM42688_WHO_AM_I_VALUE;
    sb.nwrites = 0;
    EXPECT(icm42688_init(&bus) == 0);
    EXPECT(sb.regs[ICM42688_REG_PWR_MGMT0] == 0x0F && sb.regs[ICM42688_REG_INT_SOURCE0] == 0x08);
    EXPECT(sb.delayed_us >= 1000);
    EXPECT(icm42688_configure(&bus, &cfg) == 0);
    EXPECT(sb.regs[ICM42688_REG_GYRO_CONFIG0] == 0x06 && sb.regs[ICM42688_REG_ACCEL_CONFIG0] == 0x06);
    cfg.imu_rate_hz = 100.0f;
    cfg.accel_range_g = 8;
    cfg.gyro_range_dps = 500;
    EXPECT(icm42688_configure(&bus, &cfg) == 0);
    EXPECT(sb.regs[ICM42688_REG_GYRO_CONFIG0] == ((2 << 5) | 8) && sb.regs[ICM42688_REG_ACCEL_CONFIG0] == ((1 << 5) | 8));
    /* every register access of init and configure happened inside the lock, balanced */
    EXPECT(sb.unlocked_access == 0 && sb.lock_depth == 0);
    sb.fail_writes = 1;
    EXPECT(icm42688_configure(&bus, &cfg) < 0 && sb.lock_depth == 0);
    sb.fail_writes = 0;
    memcpy(sb.regs + ICM42688_REG_ACCEL_DATA_X1, raw, sizeof raw);
    EXPECT(icm42688_read_sample(&bus, s) == 0 && s[0] == 2048 && s[5] == -1);
}

void test_mlx90640(void)
{
    float hz;
    EXPECT(mlx90640_refresh_code(8.0f, &hz) == 5 && hz == 8.0f); /* 16 Hz subpages */
    EXPECT(mlx90640_refresh_code(0.25f, &hz) == 0 && hz == 0.25f);
    EXPECT(mlx90640_refresh_code(100.0f, &hz) == 7 && hz == 32.0f);
    EXPECT(mlx90640_refresh_code(3.0f, &hz) == 4 && hz == 4.0f); /* 6 Hz subpages: 8 is nearer than 4 */
    EXPECT(mlx90640_ctrl_with_refresh(0x1901, 5) == ((0x1901 & ~(7u << 7)) | (5u << 7)));
    EXPECT(mlx90640_status_new_data(0x0009) == 1 && mlx90640_status_subpage(0x0009) == 1);
    EXPECT(mlx90640_celsius_to_raw(0.0f) == 27315 && mlx90640_celsius_to_raw(-300.0f) == 0);
    EXPECT(mlx90640_celsius_to_raw(1000.0f) == 65535);
}

static void test_sim_signals(void)
{
    /* Values the Python tests recompute (tests/firmware_bridge/test_bridge_pty.py). */
    EXPECT(sim_thermal_pixel(1, 0, 0, 32, 24) == 29500);
    EXPECT(sim_thermal_pixel(1, 3, 12, 32, 24) == 29500 + 500 + 1500);
    EXPECT(sim_thermal_pixel(2, 0, 23, 32, 24) == 29500 + 958);
}

/* ---- a DW_apb_i2c-like controller in front of an MLX90640's memory ------------------------------- */
typedef struct {
    uint16_t mem[0x10000];
    uint16_t txq[MLX_I2C_FIFO_DEPTH];
    size_t txn;
    uint8_t rxq[MLX_I2C_FIFO_DEPTH];
    size_t rxn;
    int phase; /* 0, 1: address bytes; 2, 3: value bytes (write) */
    uint16_t ptr, value;
    int read_low, abort_pending;
    int overflowed, pushed_when_full, reads_without_restart;
    size_t pushes_this_poll, pops_this_poll, max_work_per_poll;
} ctl_t;

static size_t c_room(void *c) { return MLX_I2C_FIFO_DEPTH - ((ctl_t *)c)->txn; }
static void c_push(void *c, uint16_t cmd)
{
    ctl_t *t = c;
    t->pushes_this_poll++;
    if (t->txn == MLX_I2C_FIFO_DEPTH) {
        t->pushed_when_full++;
        return;
    }
    t->txq[t->txn++] = cmd;
}
static size_t c_rx(void *c) { return ((ctl_t *)c)->rxn; }
static uint8_t c_pop(void *c)
{
    ctl_t *t = c;
    uint8_t b = t->rxq[0];
    t->pops_this_poll++;
    memmove(t->rxq, t->rxq + 1, --t->rxn);
    return b;
}
static int c_aborted(void *c)
{
    ctl_t *t = c;
    int a = t->abort_pending;
    t->abort_pending = 0;
    if (a) t->txn = 0; /* the controller flushes its FIFO on an abort */
    return a;
}


/* The bus executes up to n commands (about 9 us each at 1 MHz). */
static void ctl_run(ctl_t *t, size_t n)
{
    while (n-- > 0 && t->txn > 0) {
        uint16_t cmd = t->txq[0];
        memmove(t->txq, t->txq + 1, --t->txn * sizeof t->txq[0]);
        if (cmd & MLX_I2C_CMD_READ) {
            uint16_t w = t->mem[t->ptr];
            if (t->phase == 2 && !(cmd & MLX_I2C_CMD_RESTART)) t->reads_without_restart++;
            t->phase = 4;
            if (t->rxn == MLX_I2C_FIFO_DEPTH) {
                t->overflowed++;
            } else {
                t->rxq[t->rxn++] = (uint8_t)(t->read_low ? w & 0xFF : w >> 8);
            }
            if (t->read_low) t->ptr++;
            t->read_low = !t->read_low;
        } else if (t->phase < 2) {
            t->ptr = (uint16_t)(t->phase == 0 ? (cmd & 0xFF) << 8 : t->ptr | (cmd & 0xFF));
            t->phase++;
        } else {
            t->value = (uint16_t)(t->phase == 2 ? (cmd & 0xFF) << 8 : t->value | (cmd & 0xFF));
            if (t->phase++ == 3) t->mem[t->ptr] = t->value;
        }
        if (cmd & MLX_I2C_CMD_STOP) t->phase = t->read_low = 0;
    }
}

static int ctl_poll(ctl_t *t, mlx_xfer_t *x)
{
    int rc;
    size_t work;
    t->pushes_this_poll = t->pops_this_poll = 0;
    rc = mlx_xfer_poll(x);
    work = t->pushes_this_poll + t->pops_this_poll;
    if (work > t->max_work_per_poll) t->max_work_per_poll = work;
    return rc;
}

void test_mlx90640_reader(void)
{
    static ctl_t t;
    static uint16_t words[832];
    const mlx_i2c_ops_t ctl_ops = {&t, c_room, c_push, c_rx, c_pop, c_aborted};
    mlx_xfer_t x;
    size_t i, polls = 0;
    int rc;
    memset(&t, 0, sizeof t);
    for (i = 0; i < 832; i++) t.mem[MLX90640_RAM_START + i] = (uint16_t)(0xA500 + i * 37);
    mlx_xfer_start_read(&x, &ctl_ops, MLX90640_RAM_START, words, 832);
    /* the bus moves 5 bytes between two polls: a slow loop would take more polls, never longer ones */
    while ((rc = ctl_poll(&t, &x)) == MLX_XFER_BUSY && polls < 100000) {
        ctl_run(&t, 5);
        polls++;
    }
    EXPECT(rc == MLX_XFER_DONE);
    for (i = 0; i < 832 && words[i] == t.mem[MLX90640_RAM_START + i]; i++) {
    }
    EXPECT(i == 832);
    EXPECT(polls > 300); /* 1,666 commands at 5 per poll: the read was spread over the loop */
    EXPECT(t.max_work_per_poll <= 2 * MLX_I2C_FIFO_DEPTH);
    EXPECT(t.overflowed == 0 && t.pushed_when_full == 0 && t.reads_without_restart == 0);
    EXPECT(t.phase == 0); /* the last read carried a stop */

    /* a bus much faster than the loop: still no receive overflow */
    memset(words, 0, sizeof words);
    mlx_xfer_start_read(&x, &ctl_ops, MLX90640_RAM_START, words, 832);
    while ((rc = ctl_poll(&t, &x)) == MLX_XFER_BUSY) ctl_run(&t, 1000);
    EXPECT(rc == MLX_XFER_DONE && words[831] == t.mem[MLX90640_RAM_START + 831] && t.overflowed == 0);

    /* one-word write, then read it back */
    mlx_xfer_start_write(&x, &ctl_ops, MLX90640_REG_STATUS, 0x1234);
    while ((rc = ctl_poll(&t, &x)) == MLX_XFER_BUSY) ctl_run(&t, 3);
    ctl_run(&t, 16);
    EXPECT(rc == MLX_XFER_DONE && t.mem[MLX90640_REG_STATUS] == 0x1234);
    mlx_xfer_start_read(&x, &ctl_ops, MLX90640_REG_STATUS, words, 1);
    while ((rc = ctl_poll(&t, &x)) == MLX_XFER_BUSY) ctl_run(&t, 3);
    EXPECT(rc == MLX_XFER_DONE && words[0] == 0x1234);

    /* a NACK part-way: the transfer reports an error instead of waiting forever */
    mlx_xfer_start_read(&x, &ctl_ops, MLX90640_RAM_START, words, 832);
    for (i = 0; i < 20; i++) {
        ctl_poll(&t, &x);
        ctl_run(&t, 5);
    }
    t.abort_pending = 1;
    EXPECT(ctl_poll(&t, &x) == MLX_XFER_ERROR && ctl_poll(&t, &x) == MLX_XFER_ERROR);
}

/* ---- the simulator -------------------------------------------------------------------------------- */
void test_sim(void)
{
    static sim_hal_t sim;
    static uint16_t px[160 * 120];
    const float bad[] = {NAN, INFINITY, 1e-30f, 0.0f, -5.0f, 1e36f};
    sim_options_t opt;
    fb_hal_t hal;
    size_t i;
    test_sim_signals();
    memset(&opt, 0, sizeof opt);
    opt.thermal_kind = SIM_THERMAL_LEPTON;
    sim_hal_init(&sim, &opt, -1);
    sim_hal_set_time_ns(&sim, 1000000000ull);
    sim_hal_bind(&sim, &hal);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        float r = bad[i];
        uint64_t cap = 0;
        EXPECT(hal.thermal_configure(hal.ctx, &r) == 1 && r >= 0.1f && r <= 8.7f);
        sim_hal_set_time_ns(&sim, sim.manual_ns + 20000000000ull); /* 20 s: a frame is due */
        EXPECT(hal.thermal_read(hal.ctx, px, &cap) == 1 && cap == sim.manual_ns / 1000u);
        EXPECT(px[0] == sim_thermal_pixel(sim.th_frame, 0, 0, 160, 120));
    }
    opt.thermal_kind = SIM_THERMAL_MLX90640;
    sim_hal_init(&sim, &opt, -1);
    sim_hal_bind(&sim, &hal);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        float r = bad[i];
        hal.thermal_configure(hal.ctx, &r);
        EXPECT(r >= 0.25f && r <= 32.0f);
    }
}

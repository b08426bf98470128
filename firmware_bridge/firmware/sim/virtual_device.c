/* The virtual device: the firmware core with the simulated HAL, on a pseudo-terminal.
 * Prints the pty slave path as the first line of stdout, then runs until SIGTERM/SIGINT. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fb/fb_device.h"
#include "sim_hal.h"

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

typedef struct {
    sim_options_t sim;
    float imu_rate_hz, thermal_rate_hz;
    int imu_batch;
    double pause_every_s, pause_ms, disconnect_after_s, reconnect_ms;
    const char *link;
    uint64_t device_id;
} options_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fb_virtual_device [options]\n"
            "EdgeBind firmware-bridge virtual device: the firmware core with a simulated HAL on a\n"
            "pseudo-terminal. Prints the pty path as the first stdout line; runs until killed.\n\n"
            "clock (device_us = floor((host CLOCK_MONOTONIC us + offset) * (1 + drift*1e-6))):\n"
            "  --offset-us US          device clock offset, microseconds (default 0)\n"
            "  --drift-ppm PPM         device clock drift, parts per million (default 0)\n"
            "sensors:\n"
            "  --imu-rate HZ           IMU output data rate (default 1000; snapped to ICM-42688 ODRs)\n"
            "  --imu-batch N           samples per IMU_BATCH (1..62, default 10)\n"
            "  --thermal KIND          none | mlx90640 (32x24) | lepton (160x120) (default mlx90640)\n"
            "  --thermal-rate HZ       thermal frame rate (default 4)\n"
            "faults (transmit path; seeded, reproducible):\n"
            "  --bitflip-rate P        probability per byte of flipping one bit\n"
            "  --drop-rate P           probability per byte of dropping it\n"
            "  --fragment-drop-rate P  probability per thermal fragment of dropping the whole frame\n"
            "  --pause-every S         stall the main loop every S seconds ...\n"
            "  --pause-ms MS           ... for MS milliseconds (default 100)\n"
            "  --disconnect-after S    close the pty after S seconds (an unplug), then after\n"
            "  --reconnect-ms MS       MS milliseconds open a new pty and print its path (default 500)\n"
            "  --seed N                random seed (default 1)\n"
            "other:\n"
            "  --link PATH             keep a symlink PATH -> current pty (stable name across replugs)\n"
            "  --device-id N           device id reported in DEVICE_INFO\n"
            "  --help\n");
}

static int parse(int argc, char **argv, options_t *o)
{
    static const struct option longopts[] = {
        {"offset-us", required_argument, 0, 'o'}, {"drift-ppm", required_argument, 0, 'd'},
        {"imu-rate", required_argument, 0, 'i'}, {"imu-batch", required_argument, 0, 'b'},
        {"thermal", required_argument, 0, 't'}, {"thermal-rate", required_argument, 0, 'r'},
        {"bitflip-rate", required_argument, 0, 'f'}, {"drop-rate", required_argument, 0, 'x'},
        {"fragment-drop-rate", required_argument, 0, 'F'}, {"pause-every", required_argument, 0, 'p'},
        {"pause-ms", required_argument, 0, 'P'}, {"disconnect-after", required_argument, 0, 'D'},
        {"reconnect-ms", required_argument, 0, 'R'}, {"seed", required_argument, 0, 's'},
        {"link", required_argument, 0, 'l'}, {"device-id", required_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    memset(o, 0, sizeof *o);
    o->imu_rate_hz = 1000.0f;
    o->imu_batch = 10;
    o->thermal_rate_hz = 4.0f;
    o->sim.thermal_kind = SIM_THERMAL_MLX90640;
    o->sim.seed = 1;
    o->pause_ms = 100.0;
    o->reconnect_ms = 500.0;
    o->device_id = 0xEDB1D0000001ull;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->sim.offset_us = atof(optarg); break;
        case 'd': o->sim.drift_ppm = atof(optarg); break;
        case 'i': o->imu_rate_hz = (float)atof(optarg); break;
        case 'b': o->imu_batch = atoi(optarg); break;
        case 't':
            if (strcmp(optarg, "none") == 0) o->sim.thermal_kind = SIM_THERMAL_NONE;
            else if (strcmp(optarg, "mlx90640") == 0) o->sim.thermal_kind = SIM_THERMAL_MLX90640;
            else if (strcmp(optarg, "lepton") == 0) o->sim.thermal_kind = SIM_THERMAL_LEPTON;
            else {
                fprintf(stderr, "--thermal: expected none, mlx90640 or lepton, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'r': o->thermal_rate_hz = (float)atof(optarg); break;
        case 'f': o->sim.bitflip_rate = atof(optarg); break;
        case 'x': o->sim.drop_rate = atof(optarg); break;
        case 'F': o->sim.fragment_drop_rate = atof(optarg); break;
        case 'p': o->pause_every_s = atof(optarg); break;
        case 'P': o->pause_ms = atof(optarg); break;
        case 'D': o->disconnect_after_s = atof(optarg); break;
        case 'R': o->reconnect_ms = atof(optarg); break;
        case 's': o->sim.seed = strtoull(optarg, NULL, 0); break;
        case 'l': o->link = optarg; break;
        case 'I': o->device_id = strtoull(optarg, NULL, 0); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (o->imu_batch < 1 || o->imu_batch > (int)FB_IMU_MAX_SAMPLES) {
        fprintf(stderr, "--imu-batch must be 1..%u\n", FB_IMU_MAX_SAMPLES);
        return -1;
    }
    if (!(o->imu_rate_hz >= FB_RATE_MIN_HZ && o->imu_rate_hz <= FB_IMU_RATE_MAX_HZ) ||
        !(o->thermal_rate_hz >= FB_RATE_MIN_HZ && o->thermal_rate_hz <= FB_THERMAL_RATE_MAX_HZ)) {
        fprintf(stderr, "--imu-rate must be %g..%g Hz and --thermal-rate %g..%g Hz\n",
                (double)FB_RATE_MIN_HZ, (double)FB_IMU_RATE_MAX_HZ, (double)FB_RATE_MIN_HZ,
                (double)FB_THERMAL_RATE_MAX_HZ);
        return -1;
    }
    return 0;
}

/* Opens a pty pair in raw mode; keeps our own slave fd open so the master never sees a hangup
 * when the host closes its side. Returns the master fd or -1. */
static int open_pty(char *path, size_t cap, int *slave_fd)
{
    struct termios t;
    const char *name;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || (name = ptsname(m)) == NULL) {
        perror("posix_openpt");
        if (m >= 0) close(m);
        return -1;
    }
    snprintf(path, cap, "%s", name);
    *slave_fd = open(path, O_RDWR | O_NOCTTY);
    if (*slave_fd < 0 || tcgetattr(*slave_fd, &t) < 0) {
        perror("open pty slave");
        close(m);
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(*slave_fd, TCSANOW, &t);
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    return m;
}

static void relink(const char *link, const char *target)
{
    char tmp[4096];
    if (!link) return;
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", link, (long)getpid());
    unlink(tmp);
    if (symlink(target, tmp) == 0) {
        rename(tmp, link); /* atomic replace */
    } else {
        perror("symlink");
    }
}

static double mono_s(void) { return (double)sim_host_monotonic_ns() * 1e-9; }

static void sleep_ms(double ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000.0);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !g_stop) {
    }
}

int main(int argc, char **argv)
{
    static sim_hal_t sim;
    static fb_device_t dev;
    static uint16_t thermal_buf[160 * 120];
    options_t o;
    fb_hal_t hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    char path[256];
    int master, slave;
    double start, next_pause;
    int disconnected = 0;
    struct sigaction sa;

    if (parse(argc, argv, &o) < 0) return 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    master = open_pty(path, sizeof path, &slave);
    if (master < 0) return 1;
    relink(o.link, path);
    printf("%s\n", path);
    fflush(stdout);
    fprintf(stderr, "fb_virtual_device: pty %s offset_us=%.3f drift_ppm=%.3f imu=%.1fHz thermal=%d\n",
            path, o.sim.offset_us, o.sim.drift_ppm, (double)o.imu_rate_hz, o.sim.thermal_kind);

    sim_hal_init(&sim, &o.sim, master);
    sim_hal_bind(&sim, &hal);
    memset(&info, 0, sizeof info);
    info.device_id = o.device_id;
    info.fw_major = 1;
    info.fw_minor = 0;
    info.fw_patch = 0;
    snprintf(info.board, sizeof info.board, "%s", "virtual");
    snprintf(info.imu_model, sizeof info.imu_model, "%s", "ICM-42688-P/sim");
    info.sensors = FB_STREAM_IMU;
    if (o.sim.thermal_kind != SIM_THERMAL_NONE) {
        info.sensors |= FB_STREAM_THERMAL;
        snprintf(info.thermal_model, sizeof info.thermal_model, "%s",
                 o.sim.thermal_kind == SIM_THERMAL_LEPTON ? "Lepton3.5/sim" : "MLX90640/sim");
        info.thermal_width = sim.th_w;
        info.thermal_height = sim.th_h;
        info.thermal_scale = 0.01f;
        info.thermal_offset = 0.0f;
    }
    fb_device_default_config(&cfg, info.sensors);
    cfg.imu.imu_rate_hz = o.imu_rate_hz;
    cfg.imu_batch = (uint16_t)o.imu_batch;
    cfg.thermal_rate_hz = o.thermal_rate_hz;
    fb_device_init(&dev, &hal, &info, &cfg, o.sim.thermal_kind != SIM_THERMAL_NONE ? thermal_buf : NULL);

    start = mono_s();
    next_pause = start + o.pause_every_s;
    while (!g_stop) {
        struct pollfd pfd;
        double now = mono_s();
        if (o.pause_every_s > 0.0 && now >= next_pause) {
            sleep_ms(o.pause_ms); /* a stalled firmware: nothing read, nothing sent */
            next_pause += o.pause_every_s;
        }
        if (o.disconnect_after_s > 0.0 && !disconnected && now - start >= o.disconnect_after_s) {
            disconnected = 1;
            sim_hal_set_fd(&sim, -1);
            if (o.link) unlink(o.link);
            close(master);
            close(slave);
            sleep_ms(o.reconnect_ms);
            if (g_stop) break;
            master = open_pty(path, sizeof path, &slave);
            if (master < 0) return 1;
            relink(o.link, path);
            printf("%s\n", path);
            fflush(stdout);
            sim_hal_set_fd(&sim, master);
            {
                fb_device_config_t keep = dev.cfg; /* a reboot that keeps the last configuration */
                fb_device_init(&dev, &hal, &info, &keep, o.sim.thermal_kind != SIM_THERMAL_NONE ? thermal_buf : NULL);
            }
        }
        fb_device_poll(&dev);
        sim_hal_flush(&sim);
        pfd.fd = master;
        pfd.events = (short)(POLLIN | (sim.tx_len ? POLLOUT : 0));
        pfd.revents = 0;
        poll(&pfd, 1, 1);
    }
    if (o.link) unlink(o.link);
    fprintf(stderr, "fb_virtual_device: stopping; injected bitflips=%llu byte_drops=%llu fragment_drops=%llu tx_overruns=%u\n",
            (unsigned long long)sim.injected_bitflips, (unsigned long long)sim.injected_byte_drops,
            (unsigned long long)sim.injected_fragment_drops, dev.counters.tx_overruns);
    close(master);
    close(slave);
    return 0;
}

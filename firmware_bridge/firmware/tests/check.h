/* The C unit tests' one assertion macro: counts checks, reports failures and carries on. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

extern int g_failures, g_checks;
#define EXPECT(cond)                                                                          \
    do {                                                                                      \
        g_checks++;                                                                           \
        if (!(cond)) {                                                                        \
            g_failures++;                                                                     \
            fprintf(stderr, "%s:%d: %s: expected %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                                     \
    } while (0)

/* The test groups (one per file), run by test_main.c. */
void test_device_core(void);
void test_device_config(void);
void test_icm42688(void);
void test_mlx90640(void);
void test_mlx90640_reader(void);
void test_sim(void);
#endif

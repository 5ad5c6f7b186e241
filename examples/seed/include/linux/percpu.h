#ifndef _LINUX_PERCPU_H
#define _LINUX_PERCPU_H
void setup_per_cpu_areas(void);
#endif

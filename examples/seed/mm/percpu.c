/* Generic per-cpu setup: the SMP fallback and the uniprocessor version. */
#include <linux/percpu.h>

#if defined(CONFIG_SMP) && !defined(CONFIG_HAVE_SETUP_PER_CPU_AREA)
void __init setup_per_cpu_areas(void)
{
	generic_setup_areas();
}
#endif

#ifndef CONFIG_SMP
void __init setup_per_cpu_areas(void)
{
	up_setup_area();
}
#endif

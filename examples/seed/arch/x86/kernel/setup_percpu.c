/* x86 per-cpu areas; only built with CONFIG_SMP (see the Makefile). */
#include <linux/percpu.h>

void __init setup_per_cpu_areas(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		setup_cpu_area(cpu);

	switch_to_new_gdt(0);
}

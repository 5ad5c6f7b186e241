/* Architecture setup (example modelled on the 2017 thread). */
#include <linux/percpu.h>

void sync_initial_page_table(void);

void setup_arch(char **cmdline)
{
	parse_early_param();
	efi_init();

#ifdef CONFIG_X86_32
	/* the GDT must be mapped before other CPUs start */
	sync_initial_page_table();
#endif
	paging_init();
}

/* The boot sequence that calls both functions (example). */
void start_kernel(void)
{
	setup_arch(0);
	setup_per_cpu_areas();
}

/* 32-bit early entry (example). */
void startup_32(void)
{
}

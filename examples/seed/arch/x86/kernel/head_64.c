/* 64-bit early entry (example). */
void startup_64(void)
{
}

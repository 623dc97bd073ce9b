/* The smallest program there is: the start-up baseline (built with gcc -static). */
int main(void) { return 0; }

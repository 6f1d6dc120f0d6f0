// Changes its root to its working directory (loaded already: nothing needs to be inside), then
// renames, removes and chmods by absolute names, which the kernel takes below the new root: /l is a
// symlink to /x, which means the x in that directory, not the host's /x.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  if (chroot(".") != 0 || chdir("/") != 0) return perror("chroot"), 2;
  if (rename("/a", "/b") != 0) return perror("rename"), 3;
  if (unlink("/c") != 0) return perror("unlink"), 4;
  if (chmod("/l", 0600) != 0) return perror("chmod"), 5;
  return 0;
}

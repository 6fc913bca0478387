/* The constant-time password comparison: equal only when equal, whatever
 * the lengths and wherever they differ. */
#include "protocol/secret.h"
#include "../tap.h"

int
main (void)
{
  OK (dx_secret_equal ("s3cret", "s3cret"), "equal strings");
  OK (dx_secret_equal ("", ""), "two empty strings");
  OK (!dx_secret_equal ("s3cre", "s3cret"), "a prefix is not equal");
  OK (!dx_secret_equal ("s3cret!", "s3cret"), "a longer one is not equal");
  OK (!dx_secret_equal ("S3cret", "s3cret"), "the first byte differs");
  OK (!dx_secret_equal ("s3creT", "s3cret"), "the last byte differs");
  OK (!dx_secret_equal ("", "s3cret"), "empty given");
  OK (!dx_secret_equal ("s3cret", ""), "empty wanted");
  OK (!dx_secret_equal ("\xff\xfe", "\x7f\x7e"), "high bits count");
  return tap_done ();
}

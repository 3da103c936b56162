/* The flag of tpark/observed.h. Nothing sets it yet: checked mode for locks
 * and the schedule explorer will, around the operations they watch. */
#include "tpark/observed.h"

int tpark__lock_observed;

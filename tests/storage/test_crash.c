#include <criterion/criterion.h>
Test(placeholder, x)
{
}

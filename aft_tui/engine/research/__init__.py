"""Research mode: experiments on the numbers and on the code, kept only when they beat the noise."""

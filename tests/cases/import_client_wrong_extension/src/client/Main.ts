export const Main = 1

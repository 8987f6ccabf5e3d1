export default function Wrapper({ children }) { return children }
